"""allauth's adapters. Signing in with GitHub or GitLab (allauth's socialaccount): a forge account
whose e-mail address belongs to an existing account is linked to it only when
the forge says the address is verified, and only once the person confirms;
an unverified match is refused."""

from __future__ import annotations

import base64

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.shortcuts import redirect, render
from django.utils.crypto import salted_hmac

from . import throttle
from .models import User

PENDING_LINK = "accounts_pending_link"


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """The address sign-in throttling counts (behind TRUSTED_PROXIES, what the
        nearest of them saw), for allauth's rate limits and the sessions list."""
        return throttle.client_address(request)


class MFAAdapter(DefaultMFAAdapter):
    """Authenticator-app keys and recovery-code seeds cannot be hashed (they
    are needed to check a code), so they are stored encrypted with a key
    derived from SECRET_KEY: a copy of the database alone yields no second
    factor. SECRET_KEY_FALLBACKS still decrypt while a key is being rotated."""

    def encrypt(self, text: str) -> str:
        return _secrets_key().encrypt(text.encode()).decode()

    def decrypt(self, encrypted_text: str) -> str:
        return _secrets_key().decrypt(encrypted_text.encode()).decode()


def _secrets_key() -> MultiFernet:
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    derived = [salted_hmac("mfa-secrets", "", secret=key, algorithm="sha256") for key in keys]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(d.digest())) for d in derived])


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin) -> None:
        """A forge sign-in of an account not linked yet: to the existing account
        with its verified address, once confirmed; a new account only for a
        verified address (invitations go to whoever holds the address)."""
        if sociallogin.is_existing or sociallogin.state.get("process") == AuthProcess.CONNECT:
            return
        verified, unverified = addresses_of(sociallogin)
        if User.objects.filter(email__in=verified).exists():
            request.session[PENDING_LINK] = sociallogin.serialize()
            raise ImmediateHttpResponse(redirect("link-account"))
        existing = User.objects.filter(email__in=unverified).exists()
        if existing or _account_address(sociallogin) not in verified:
            context = {"provider": sociallogin.provider.name, "existing": existing}
            response = render(request, "accounts/forge_address_unverified.html", context)
            response.status_code = 403
            raise ImmediateHttpResponse(response)


def _account_address(sociallogin) -> str:
    """The address the forge account would get here."""
    return (sociallogin.user.email or "").lower() if sociallogin.user is not None else ""


def addresses_of(sociallogin) -> tuple[set[str], set[str]]:
    """The forge account's addresses (lower case): verified, and not verified.
    GitHub lists its addresses with their state; GitLab gives one address, which
    counts as verified when its user API says the account is confirmed."""
    addresses = list(sociallogin.email_addresses)
    verified = {a.email.lower() for a in addresses if a.verified}
    unverified = {a.email.lower() for a in addresses if not a.verified}
    email = _account_address(sociallogin)
    if email and email not in verified:
        confirmed = sociallogin.account.provider == "gitlab" and sociallogin.account.extra_data.get(
            "confirmed_at"
        )
        (verified if confirmed else unverified).add(email)
    return verified, unverified
