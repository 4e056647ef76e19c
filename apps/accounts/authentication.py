"""How and when a session was authenticated, read from the records allauth
keeps in it: signing in, the recent-authentication guard of changes that
redirect users (apps.dashboard.decorators), and whether the session passed a second factor.

Signing in goes through allauth's login flow (its internal `flows` module,
pinned with the package in requirements.in): the public `perform_login` does
not record the password check, and that record is what both the second-factor
stage and the recent-authentication guard read.
"""

from __future__ import annotations

import time

from allauth.account.internal.flows.login import (
    get_authentication_records,
    perform_password_login,
    record_authentication,
)
from allauth.account.models import Login
from allauth.mfa.models import Authenticator
from django.conf import settings

# Checks that prove the person is at the keyboard: a password, a second factor
# (TOTP, recovery code, passkey) or the forge (GitHub/GitLab) signing them in.
PROOFS = {"password", "mfa", "socialaccount"}
SECOND_FACTORS = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]


def sign_in_with_password(request, user, redirect_url: str):
    """Sign in a user whose password was checked: a user with a second factor
    is sent to allauth's second-factor page first; returns the response."""
    login = Login(user=user, redirect_url=redirect_url, email=user.email)
    return perform_password_login(request, {"email": user.email}, login)


def _records(request) -> list[dict]:
    return get_authentication_records(request, request.user)


def _latest_is_recent(records: list[dict]) -> bool:
    times = [record["at"] for record in records]
    return bool(times) and time.time() - max(times) < settings.REAUTH_MINUTES * 60


def recently_authenticated(request) -> bool:
    """Whether the last password, second-factor or forge check of this
    session is at most REAUTH_MINUTES old."""
    return _latest_is_recent([r for r in _records(request) if r.get("method") in PROOFS])


def record_forge_confirmation(request, sociallogin) -> None:
    """Record that the signed-in person confirmed with their forge just now
    (asked again, as allauth records a password typed again)."""
    account = sociallogin.account
    record_authentication(
        request,
        request.user,
        "socialaccount",
        reauthenticated=True,
        provider=account.provider,
        uid=account.uid,
    )


def confirmed_with_forge(request) -> bool:
    """Whether this session confirmed with its forge, when asked again, at
    most REAUTH_MINUTES ago."""
    records = _records(request)
    return _latest_is_recent(
        [r for r in records if r.get("method") == "socialaccount" and r.get("reauthenticated")]
    )


# How a check reads in the security log ("signed in with password and authenticator app").
CHECK_NAMES = {
    "password": "password",
    "totp": "authenticator app",
    "recovery_codes": "recovery code",
    "webauthn": "security key",
    "github": "GitHub",
    "gitlab": "GitLab",
}


def checks_of_sign_in(request, user) -> str:
    """The checks this session's sign-in passed, in order: "password and
    authenticator app", "passkey", "GitHub" ("" when none is recorded)."""
    names: list[str] = []
    for record in get_authentication_records(request, user):
        match record.get("method"):
            case "mfa" if record.get("passwordless"):
                name = "passkey"
            case "mfa":
                name = CHECK_NAMES.get(record.get("type"), "second factor")
            case "socialaccount":
                name = CHECK_NAMES.get(record.get("provider"), record.get("provider", "forge"))
            case "password":
                name = CHECK_NAMES["password"]
            case _:
                continue
        if name not in names:
            names.append(name)
    return " and ".join(names)


def passed_second_factor(request) -> bool:
    """Whether this session was verified with a second factor (or a passkey)."""
    return any(record.get("method") == "mfa" for record in _records(request))


def lacks_required_second_factor(request, organisation) -> bool:
    """Whether `organisation` requires a second factor this session did not pass."""
    return organisation.require_two_factor and not passed_second_factor(request)


def has_second_factor(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type__in=SECOND_FACTORS).exists()
