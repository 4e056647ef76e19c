"""A person sees where they are signed in and signs sessions out; changing
the password or adding a second factor signs out all the others."""

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from apps.accounts.models import User

from .soft_authenticator import SoftAuthenticator
from .test_passkey_origins import THIS_SITE, add_key
from .two_factor import PASSWORD, activate_totp, log_in

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.com"
LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) Firefox/130.0"
PHONE = "Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile Safari/537.36"


@pytest.fixture
def devices(db):
    """Ada signed in on a laptop and on a phone."""
    User.objects.create_user(EMAIL, PASSWORD)
    laptop = Client(HTTP_USER_AGENT=LAPTOP)
    phone = Client(HTTP_USER_AGENT=PHONE, REMOTE_ADDR="198.51.100.7")
    for client in (laptop, phone):
        log_in(client, EMAIL)
    return laptop, phone


def signed_in(client) -> bool:
    return client.get(reverse("organisations")).status_code == 200


def test_the_sessions_page_lists_every_session(devices):
    laptop, _phone = devices

    page = laptop.get(reverse("usersessions_list")).content.decode()

    assert ">Firefox on Linux</td>" in page  # the browser named, its User-Agent on hover
    assert f'title="{LAPTOP}"' in page
    assert ">Chrome on Android</td>" in page
    assert "198.51.100.7" in page
    assert "This session" in page
    assert "just now" in page


def test_one_session_is_signed_out_from_another(devices):
    laptop, phone = devices
    sessions = laptop.get(reverse("usersessions_list")).context["sessions"]
    (other,) = [s for s in sessions if s.user_agent == PHONE]

    laptop.post(reverse("end-session", args=[other.id]))

    assert not signed_in(phone)
    assert signed_in(laptop)


def test_the_current_session_is_not_ended_through_the_list(devices):
    laptop, _phone = devices
    sessions = laptop.get(reverse("usersessions_list")).context["sessions"]
    (current,) = [s for s in sessions if s.user_agent == LAPTOP]

    assert laptop.post(reverse("end-session", args=[current.id])).status_code == 404
    assert signed_in(laptop)


def test_another_persons_session_cannot_be_ended(devices):
    _laptop, phone = devices
    User.objects.create_user("eve@example.com", PASSWORD)
    eve = Client()
    log_in(eve, "eve@example.com")
    sessions = phone.get(reverse("usersessions_list")).context["sessions"]

    assert eve.post(reverse("end-session", args=[sessions[0].id])).status_code == 404
    assert signed_in(phone)


def test_all_other_sessions_are_signed_out_at_once(devices):
    laptop, phone = devices

    laptop.post(reverse("usersessions_list"))

    assert not signed_in(phone)
    assert signed_in(laptop)


def test_changing_the_password_signs_out_the_other_sessions(devices):
    laptop, phone = devices

    laptop.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a brand new passphrase",
            "new_password2": "a brand new passphrase",
        },
    )

    assert not signed_in(phone)
    assert signed_in(laptop)
    listed = laptop.get(reverse("usersessions_list")).context["sessions"]
    assert [session.user_agent for session in listed] == [LAPTOP]


def test_adding_a_second_factor_signs_out_the_other_sessions(
    devices, django_capture_on_commit_callbacks
):
    laptop, phone = devices

    with django_capture_on_commit_callbacks(execute=True):  # allauth signals on commit
        activate_totp(laptop)

    assert not signed_in(phone)
    assert signed_in(laptop)


def test_adding_a_security_key_signs_out_the_other_sessions(
    devices, django_capture_on_commit_callbacks
):
    laptop, phone = devices
    laptop.post("/accounts/reauthenticate/", {"password": PASSWORD})

    with django_capture_on_commit_callbacks(execute=True):
        added = add_key(laptop, SoftAuthenticator(), THIS_SITE)

    assert added.status_code == 302
    assert not signed_in(phone)
    assert signed_in(laptop)


def test_resetting_the_password_signs_out_every_session(devices, client):
    laptop, phone = devices
    client.post(reverse("password_reset"), {"email": EMAIL})
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True).redirect_chain[-1][0]

    client.post(form, {"new_password1": "a brand new one", "new_password2": "a brand new one"})

    assert not signed_in(laptop)
    assert not signed_in(phone)
    log_in(laptop, EMAIL, "a brand new one")
    listed = laptop.get(reverse("usersessions_list")).context["sessions"]
    assert [session.user_agent for session in listed] == [LAPTOP]
