"""An authenticator app (TOTP) and recovery codes, end to end through the
forms: set up, sign in with a code, refusals of wrong and replayed codes."""

import time

import pytest
from allauth.mfa.models import Authenticator

from apps.accounts.adapters import MFAAdapter
from apps.accounts.models import User
from apps.security.models import SecurityEvent

from .two_factor import activate_totp, log_in, second_factor, totp, unspent_code

pytestmark = pytest.mark.django_db

EMAIL = "ada@example.com"


def refused_as_incorrect(response) -> None:
    assert response.status_code == 200
    assert "Incorrect code" in " ".join(response.context["form"].errors["code"])


@pytest.fixture
def ada(client):
    """Ada, with an authenticator app set up; returns its key and recovery codes."""
    User.objects.create_user(EMAIL, "correct horse battery")
    log_in(client, EMAIL)
    secret, codes = activate_totp(client)
    client.post("/accounts/logout/")
    return secret, codes


def test_setting_up_shows_a_qr_code_a_key_and_ten_recovery_codes(ada):
    secret, codes = ada

    assert len(secret) >= 16
    assert len(codes) == 10


def test_the_key_is_stored_encrypted(ada):
    secret, _codes = ada

    stored = Authenticator.objects.get(type=Authenticator.Type.TOTP).data["secret"]

    assert secret not in stored
    assert MFAAdapter().decrypt(stored) == secret


def test_a_password_alone_no_longer_signs_in(client, ada):
    response = log_in(client, EMAIL)

    assert response["Location"].startswith("/accounts/2fa/authenticate/")
    assert client.get("/").status_code == 302


def test_the_password_and_a_code_sign_in(client, ada):
    secret, _codes = ada
    log_in(client, EMAIL)

    response = second_factor(client, unspent_code(secret))

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_the_security_log_says_which_checks_a_sign_in_passed(client, ada):
    secret, codes = ada
    for code in (unspent_code(secret), codes[0]):
        client.post("/accounts/logout/")
        log_in(client, EMAIL)
        second_factor(client, code)

    sign_ins = SecurityEvent.objects.filter(kind=SecurityEvent.SIGN_IN).order_by("-id")

    assert [event.summary for event in sign_ins[:2]] == [
        "signed in with password and recovery code",
        "signed in with password and authenticator app",
    ]


def test_a_wrong_code_is_refused_with_a_form_error(client, ada):
    secret, _codes = ada
    log_in(client, EMAIL)
    wrong = f"{(int(totp(secret)) + 500_000) % 1_000_000:06}"

    response = second_factor(client, wrong)

    refused_as_incorrect(response)
    assert client.get("/").status_code == 302


def test_a_code_used_once_is_refused_the_second_time(client, ada):
    secret, _codes = ada
    code = unspent_code(secret)
    log_in(client, EMAIL)
    assert second_factor(client, code).status_code == 302
    client.post("/accounts/logout/")
    log_in(client, EMAIL)

    replayed = second_factor(client, code)

    refused_as_incorrect(replayed)


@pytest.fixture
def activated_now(client):
    """Ada, signed in, who just turned on an authenticator app with the current
    code; returns the key and that code."""
    User.objects.create_user(EMAIL, "correct horse battery")
    log_in(client, EMAIL)
    now = time.time()
    secret, _codes = activate_totp(client, at=now)
    return secret, totp(secret, now)


def test_the_code_that_turned_the_app_on_does_not_sign_in(client, activated_now):
    _secret, code = activated_now
    client.post("/accounts/logout/")
    log_in(client, EMAIL)

    replayed = second_factor(client, code)

    refused_as_incorrect(replayed)
    assert client.get("/").status_code == 302


def test_the_code_that_turned_the_app_on_does_not_confirm_a_change(client, activated_now):
    _secret, code = activated_now

    replayed = client.post("/accounts/2fa/reauthenticate/", {"code": code})

    refused_as_incorrect(replayed)


def test_a_recovery_code_signs_in_once(client, ada):
    _secret, codes = ada
    log_in(client, EMAIL)
    assert second_factor(client, codes[0]).status_code == 302
    client.post("/accounts/logout/")
    log_in(client, EMAIL)

    replayed = second_factor(client, codes[0])

    assert replayed.status_code == 200
    assert replayed.context["form"].errors["code"]
    assert second_factor(client, codes[1]).status_code == 302


def test_wrong_codes_are_throttled_like_passwords(client, ada):
    secret, _codes = ada
    log_in(client, EMAIL)
    for _ in range(5):
        second_factor(client, "000000")

    response = second_factor(client, unspent_code(secret))

    assert "Too many failed login attempts" in " ".join(response.context["form"].errors["code"])
    assert client.get("/").status_code == 302
