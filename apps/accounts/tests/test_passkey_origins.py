"""A security key's answer is bound to the site's origin: one made for
another origin (a phishing page relaying the challenge) is refused, at
registration and at sign-in, with a form error; the same key answering for
this site works."""

import pytest
from allauth.mfa.models import Authenticator

from apps.accounts.models import User

from .soft_authenticator import SoftAuthenticator
from .two_factor import PASSWORD, log_in

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.com"
ADD = "/accounts/2fa/webauthn/add/"
AUTHENTICATE = "/accounts/2fa/authenticate/"
THIS_SITE = "https://testserver"  # the test client's host, which is the relying party's id
PHISHING = "https://testserver.example"


@pytest.fixture
def ada(client):
    User.objects.create_user(EMAIL, PASSWORD)
    log_in(client, EMAIL)
    client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    return client


def add_key(client, key: SoftAuthenticator, origin: str):
    options = client.get(ADD).context["js_data"]["creation_options"]
    return client.post(ADD, {"name": "key", "credential": key.register(options, origin)})


def sign_in_with_key(client, key: SoftAuthenticator, origin: str):
    options = client.get(AUTHENTICATE).context["js_data"]["request_options"]
    return client.post(AUTHENTICATE, {"credential": key.assertion(options, origin)})


def test_a_key_registered_for_another_origin_is_refused(ada):
    response = add_key(ada, SoftAuthenticator(), PHISHING)

    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Authenticator.objects.filter(user__email=EMAIL).exists()


def test_an_assertion_made_for_another_origin_does_not_sign_in(ada):
    key = SoftAuthenticator()
    assert add_key(ada, key, THIS_SITE).status_code == 302
    ada.post("/accounts/logout/")
    log_in(ada, EMAIL)

    refused = sign_in_with_key(ada, key, PHISHING)
    accepted = sign_in_with_key(ada, key, THIS_SITE)

    assert refused.status_code == 200
    assert refused.context["webauthn_form"].errors
    assert accepted.status_code == 302
    assert ada.get("/").status_code == 200
