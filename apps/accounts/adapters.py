"""allauth's adapters. Signing in with GitHub or GitLab (allauth's socialaccount): a forge account
whose e-mail address belongs to an existing account is linked to it only when
the forge says the address is verified, and only once the person confirms;
an unverified match is refused. Asking again a person who came through a
forge and has neither a password nor a second factor: they confirm with the
forge."""

from __future__ import annotations

import base64

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.account.internal.flows.reauthentication import resume_request
from allauth.account.models import EmailAddress
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.adapter import get_adapter as get_social_adapter
from allauth.socialaccount.models import SocialAccount
from allauth.socialaccount.providers.base import AuthProcess
from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import salted_hmac
from django.utils.http import urlencode

from . import throttle
from .authentication import confirmed_with_forge, record_forge_confirmation
from .models import User

PENDING_LINK = "accounts_pending_link"
FORGE_REAUTHENTICATION = "forge"


class AccountAdapter(DefaultAccountAdapter):
    def get_client_ip(self, request) -> str:
        """The address sign-in throttling counts (behind TRUSTED_PROXIES, what the
        nearest of them saw), for allauth's rate limits and the sessions list."""
        return throttle.client_address(request)

    def get_reauthentication_methods(self, user) -> list[dict]:
        """allauth's ways of asking again (the password, a second factor); for a
        person who has neither, having come through a forge, confirming with it."""
        methods = super().get_reauthentication_methods(user)
        if methods or not linked_forges(self.request, user):
            return methods
        url = reverse("reauthenticate-with-forge")
        return [{"id": FORGE_REAUTHENTICATION, "description": "Confirm with a forge", "url": url}]

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        """allauth's own pages that ask again (setting up a second factor) count
        only its own ways of answering; a confirmation with the forge too."""
        required = super().is_reauthentication_required(app=app, **kwargs)
        return required and not (self.request and confirmed_with_forge(self.request))


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


def linked_forges(request, user) -> list:
    """The forges configured here (allauth providers) the user has an account of linked."""
    linked = set(SocialAccount.objects.filter(user_id=user.pk).values_list("provider", flat=True))
    return [forge for forge in get_social_adapter().list_providers(request) if forge.id in linked]


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def pre_social_login(self, request, sociallogin) -> None:
        """A forge sign-in of an account not linked yet: to the existing account
        with its verified address, once confirmed; a new account only for a
        verified address (invitations go to whoever holds the address). A
        signed-in person's trip to the forge (allauth's "redirect" process,
        which signs nobody in) is a confirmation asked for by
        reauthenticate_with_forge."""
        if (
            sociallogin.state.get("process") == AuthProcess.REDIRECT
            and request.user.is_authenticated
        ):
            raise ImmediateHttpResponse(_confirm_with_forge(request, sociallogin))
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
        _keep_verified(sociallogin, verified)


def _keep_verified(sociallogin, verified: set[str]) -> None:
    """The new account keeps as verified what addresses_of found verified:
    allauth would record GitLab's address as unverified (GitLab's API has no
    such flag), and an account with an unverified address cannot add a
    second factor."""
    for address in sociallogin.email_addresses:
        address.verified = address.verified or address.email.lower() in verified
    listed = {address.email.lower() for address in sociallogin.email_addresses}
    sociallogin.email_addresses += [
        EmailAddress(email=email, verified=True) for email in sorted(verified - listed)
    ]


def _confirm_with_forge(request, sociallogin):
    """Count the forge's answer as asking again, if it is for the forge account
    linked to the signed-in person and that is how they are asked; then make
    the change that asked (allauth replays it, as after a password)."""
    methods = get_account_adapter(request).get_reauthentication_methods(request.user)
    offered = [method["id"] for method in methods] == [FORGE_REAUTHENTICATION]
    if not (offered and sociallogin.is_existing and sociallogin.user.pk == request.user.pk):
        context = {"provider": sociallogin.provider.name, "offered": offered}
        return render(request, "accounts/forge_not_confirmed.html", context, status=403)
    record_forge_confirmation(request, sociallogin)
    # allauth resumes towards the request's `next`; the forge's answer carries
    # it in the sign-in's state instead.
    next_url = sociallogin.get_redirect_url(request) or ""
    request.GET = QueryDict(urlencode({REDIRECT_FIELD_NAME: next_url}))
    return resume_request(request) or redirect("home")


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
