"""Changing who is in an organisation and with which role, never leaving it
without an owner (Membership.is_last_owner, which the API's members
endpoint asks too)."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import Membership
from apps.packages.services import Rejected


@transaction.atomic
def change_role(membership: Membership, role: str) -> None:
    if role != Membership.OWNER:
        _keep_an_owner(membership)
    membership.role = role
    membership.save(update_fields=["role"])


@transaction.atomic
def remove(membership: Membership) -> None:
    """Take the person out of the organisation; the API tokens they created
    stop working with it (ApiToken.role)."""
    _keep_an_owner(membership)
    membership.delete()


def _keep_an_owner(membership: Membership) -> None:
    if membership.is_last_owner():
        raise Rejected([("role", "the organisation needs an owner; make someone else owner first")])
