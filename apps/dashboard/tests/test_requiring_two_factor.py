"""An organisation that requires two-factor authentication: set by an owner
who has it, enforced at sign-in for every member, shown on the members page;
API tokens keep working, creating one needs a session verified with it."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership, Organisation
from apps.accounts.tests.two_factor import activate_totp, log_in, second_factor, unspent_code

from .conftest import make_user

pytestmark = pytest.mark.django_db

REQUIRE = reverse("two-factor-requirement")


def sign_in_with_totp(client, email: str, secret: str):
    log_in(client, email)
    assert second_factor(client, unspent_code(secret)).status_code == 302


@pytest.fixture
def required(acme):
    """Acme requires 2FA, turned on by Ada from a session that passed her
    authenticator app; returns Ada's signed-in client and her key."""
    ada = Client()
    log_in(ada, "ada@example.com")
    secret, _codes = activate_totp(ada)
    ada.post("/accounts/logout/")
    sign_in_with_totp(ada, "ada@example.com", secret)
    ada.post(REQUIRE, {"require_two_factor": "on"})
    acme.refresh_from_db()
    assert acme.require_two_factor
    return ada, secret


@pytest.fixture
def bob(acme):
    """An admin of Acme without a second factor, who also has an organisation of his own."""
    user = make_user("bob@example.com")
    Membership.objects.create(user=user, organisation=acme, role=Membership.ADMIN)
    Organisation.create_for(user, "Bob's")
    return user


def test_an_owner_without_a_second_factor_cannot_require_one(client, acme):
    log_in(client, "ada@example.com")

    response = client.post(REQUIRE, {"require_two_factor": "on"}, follow=True)

    acme.refresh_from_db()
    assert not acme.require_two_factor
    assert "set up two-factor authentication and sign in with it first" in (
        response.content.decode()
    )


def test_a_member_without_a_second_factor_is_refused_with_what_to_do(client, required, bob, acme):
    log_in(client, "bob@example.com")
    client.post(reverse("switch-organisation", args=[acme.slug]))

    response = client.get(reverse("home"))

    assert response.status_code == 403
    assert "Acme requires two-factor authentication" in response.content.decode()
    assert reverse("mfa_index") in response.content.decode()
    assert client.get(reverse("tokens")).status_code == 403


def test_the_member_keeps_the_organisations_that_do_not_require_it(client, required, bob):
    log_in(client, "bob@example.com")

    own = Organisation.objects.get(name="Bob's")
    client.post(reverse("switch-organisation", args=[own.slug]))

    assert client.get(reverse("home")).status_code == 200


def test_the_members_page_shows_who_has_a_second_factor(required, bob):
    ada, _secret = required

    page = ada.get(reverse("members")).content.decode()

    rows = {re.match(r"\s*<td>([^<\s]+)", row).group(1): row for row in page.split("<tr>")[2:]}
    assert "<td>Yes</td>" in rows["ada@example.com"]
    assert "<td><strong>No</strong></td>" in rows["bob@example.com"]
    assert 'id="require-two-factor" name="require_two_factor" checked' in page


@pytest.fixture
def bob_in_acme(client, bob, acme):
    """Bob's client, signed in with his password alone, Acme his current organisation."""
    log_in(client, "bob@example.com")
    client.post(reverse("switch-organisation", args=[acme.slug]))
    return client


def test_api_tokens_keep_working_without_a_second_factor(required, bob, acme):
    _token, secret = ApiToken.issue(acme, bob, name="CI", scope=ApiToken.WRITE)

    response = Client().get("/api/v1/packages/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200


def test_a_token_works_from_a_session_without_a_second_factor_too(required, bob, acme, bob_in_acme):
    _token, secret = ApiToken.issue(acme, bob, name="CI", scope=ApiToken.WRITE)

    response = bob_in_acme.get("/api/v1/packages/", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert response.status_code == 200


def test_the_api_refuses_a_session_without_a_second_factor_in_json(required, bob_in_acme):
    response = bob_in_acme.get("/api/v1/packages/")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    (error,) = response.json()["errors"]
    assert error["field"] is None
    assert "Acme requires two-factor authentication" in error["message"]


def test_the_api_does_not_let_an_owner_without_a_second_factor_change_the_organisation(
    required, bob, acme, bob_in_acme
):
    Membership.objects.filter(user=bob, organisation=acme).update(role=Membership.OWNER)

    response = bob_in_acme.patch(
        f"/api/v1/organisations/{acme.id}/", {"name": "Bob's now"}, content_type="application/json"
    )

    assert response.status_code == 403
    assert "Acme requires two-factor authentication" in response.json()["errors"][0]["message"]
    acme.refresh_from_db()
    assert acme.name == "Acme"


def test_the_api_answers_a_session_that_passed_the_second_factor(required):
    ada, _secret = required

    assert ada.get("/api/v1/packages/").status_code == 200


def test_creating_a_token_needs_a_session_that_passed_the_second_factor(client, required, acme):
    carol = make_user("carol@example.com")
    Membership.objects.create(user=carol, organisation=acme, role=Membership.ADMIN)
    log_in(client, "carol@example.com")
    client.post(reverse("switch-organisation", args=[acme.slug]))
    secret, _codes = activate_totp(client)  # set up in a session opened by password alone
    create = {"name": "deploy", "scope": "write"}

    refused = client.post(reverse("tokens"), create)
    client.post("/accounts/2fa/reauthenticate/", {"code": unspent_code(secret)})
    created = client.post(reverse("tokens"), create)

    assert refused.status_code == 403
    assert "Confirm with your second factor" in refused.content.decode()
    assert created.status_code == 200
    assert ApiToken.find(created.context["secret"]).created_by == carol
