"""What goes into the security log, from the signals of the models and of
allauth: sign-ins, second factors, revisions that move downloads, new write
tokens and new owners."""

from __future__ import annotations

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django.urls import reverse

from apps.accounts.authentication import checks_of_sign_in
from apps.accounts.models import ApiToken, Membership
from apps.accounts.sessions import end_sessions
from apps.packages.models import Revision

from .events import record, request_user
from .models import SecurityEvent

FACTOR_NAMES = {
    Authenticator.Type.TOTP: "an authenticator app",
    Authenticator.Type.WEBAUTHN: "a security key or passkey",
    Authenticator.Type.RECOVERY_CODES: "recovery codes",
}


@receiver(user_logged_in)
def signed_in(sender, request, user, **kwargs):
    checks = checks_of_sign_in(request, user) if request is not None else ""
    record(SecurityEvent.SIGN_IN, f"signed in with {checks}" if checks else "signed in", user=user)


@receiver(authenticator_added)
def second_factor_added(sender, request, user, authenticator: Authenticator, **kwargs):
    record(SecurityEvent.TWO_FACTOR, f"added {FACTOR_NAMES[authenticator.type]}", user=user)
    if authenticator.type != Authenticator.Type.RECOVERY_CODES:
        # Whoever held a session opened before the second factor must pass it now.
        end_sessions(user, keep=request.session.session_key)


@receiver(authenticator_removed)
def second_factor_removed(sender, request, user, authenticator: Authenticator, **kwargs):
    record(SecurityEvent.TWO_FACTOR, f"removed {FACTOR_NAMES[authenticator.type]}", user=user)


@receiver(post_save, sender=Revision)
def revision_saved(sender, instance: Revision, created: bool, raw: bool = False, **kwargs):
    changes = instance.target_changes() if created and not raw else []
    if changes:
        record(
            SecurityEvent.TARGET,
            f"{instance.subject}: {'; '.join(changes)}",
            user=instance.user,
            organisation=instance.organisation,
            actor=instance.actor,
            link=reverse("revision", args=[instance.id]),
        )


@receiver(post_save, sender=ApiToken)
def token_saved(sender, instance: ApiToken, created: bool, raw: bool = False, **kwargs):
    if created and not raw and instance.scope == ApiToken.WRITE:
        record(
            SecurityEvent.WRITE_TOKEN,
            f"new write token {instance}",
            user=instance.created_by,
            organisation=instance.organisation,
            link=reverse("tokens"),
        )


@receiver(pre_save, sender=Membership)
def membership_saving(sender, instance: Membership, raw: bool = False, **kwargs):
    previous = Membership.objects.filter(id=instance.id).values_list("role", flat=True).first()
    instance.previous_role = previous


@receiver(post_save, sender=Membership)
def membership_saved(sender, instance: Membership, created: bool, raw: bool = False, **kwargs):
    """A new owner, unless they are the organisation's first (its creator)."""
    became_owner = instance.role == Membership.OWNER and instance.previous_role != instance.role
    others = Membership.objects.filter(organisation_id=instance.organisation_id).exclude(
        id=instance.id
    )
    if raw or not became_owner or not others.filter(role=Membership.OWNER).exists():
        return
    record(
        SecurityEvent.NEW_OWNER,
        f"{instance.user} is now an owner",
        user=request_user(),
        organisation=instance.organisation,
        link=reverse("members"),
    )
