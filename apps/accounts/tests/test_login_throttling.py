"""Guessing passwords: after a few wrong ones an account is locked for that
client address for a while, with a message saying so; a success resets the count."""

import pytest
from django.test import Client

from apps.accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def user(settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_LOCKOUT_SECONDS = 600
    return User.objects.create_user("ada@example.com", PASSWORD)


def sign_in(client, password, email="ada@example.com"):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_it_locks_the_account_after_too_many_wrong_passwords(client, user):
    statuses = [sign_in(client, "wrong").status_code for _ in range(3)]

    response = sign_in(client, PASSWORD)

    assert statuses == [200, 200, 200]
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert "Try again in 10 minutes" in response.content.decode()
    assert client.get("/").status_code == 302  # still signed out


def test_a_success_before_the_limit_resets_the_count(client, user):
    for _ in range(2):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 302
    client.post("/accounts/logout/")

    for _ in range(2):
        sign_in(client, "wrong")

    assert sign_in(client, PASSWORD).status_code == 302


def test_the_lockout_is_per_client_address(client, user):
    for _ in range(3):
        sign_in(client, "wrong")

    elsewhere = Client(REMOTE_ADDR="198.51.100.20")

    assert sign_in(client, PASSWORD).status_code == 429
    assert sign_in(elsewhere, PASSWORD).status_code == 302


def test_the_lockout_is_per_account(client, user):
    User.objects.create_user("grace@example.com", PASSWORD)
    for _ in range(3):
        sign_in(client, "wrong")

    assert sign_in(client, PASSWORD, email="grace@example.com").status_code == 302


def test_the_lockout_ends_when_its_period_is_over(client, user, redis_db):
    for _ in range(3):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429

    redis_db.flushdb()  # what expiry of the lockout period does

    assert sign_in(client, PASSWORD).status_code == 302


def test_the_lockout_lasts_the_configured_period(client, user, redis_db):
    for _ in range(3):
        sign_in(client, "wrong")

    (key,) = [key for key in redis_db.keys("*") if b"login-failures" in key]
    assert 590 <= redis_db.ttl(key) <= 600
    assert b"ada" not in key  # the cache holds no e-mail address


def test_unknown_accounts_are_throttled_like_known_ones(client, user):
    for _ in range(3):
        sign_in(client, "wrong", email="nobody@example.com")

    assert sign_in(client, "wrong", email="nobody@example.com").status_code == 429


def test_behind_a_trusted_proxy_the_address_the_proxy_saw_counts(settings, user):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    first = Client(REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="spoofed, 198.51.100.1")
    for _ in range(3):
        sign_in(first, "wrong")
    second = Client(REMOTE_ADDR="10.0.0.6", HTTP_X_FORWARDED_FOR="spoofed, 198.51.100.2")

    assert sign_in(first, PASSWORD).status_code == 429
    assert sign_in(second, PASSWORD).status_code == 302
