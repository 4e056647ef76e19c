"""May a rule move from one backend to another? Only after a clean, recent
migration check of exactly that move (apps.packages.services.switch_backend
and shift_traffic ask here)."""

from __future__ import annotations

from django.conf import settings

from apps.accounts.models import Organisation

from .backends import BackendDescription, pair_key
from .models import MigrationCheck

FIELD = "migration_check"


def switch_problem(
    organisation: Organisation, old: BackendDescription, new: BackendDescription
) -> str | None:
    """Why the move from `old` to `new` is not allowed yet (None: it is).

    The latest check of exactly this pair counts, not the latest clean one:
    a newer check that found differences withdraws an older clean one.
    """
    if old.form == new.form:
        return None
    check = (
        MigrationCheck.objects.filter(organisation=organisation, pair=pair_key(old, new))
        .order_by("-created", "-id")
        .first()
    )
    if check is None:
        return (
            f"no migration check has compared {old.label()} with {new.label()}; "
            "run one and switch once it is clean"
        )
    if not check.is_finished:
        return f"migration check {check.id} of this move has not finished yet"
    if check.status != MigrationCheck.CLEAN:
        return f"migration check {check.id} of this move is not clean ({check.summary()})"
    if not check.is_recent():
        hours = settings.MIGRATION_CHECK_MAX_AGE / 3600
        return (
            f"migration check {check.id} of this move finished more than {hours:g} hours ago; "
            "run it again"
        )
    return None
