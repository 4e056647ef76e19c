"""Background work of migration checks."""

from __future__ import annotations

from celery import shared_task

from .checks import run_check


@shared_task
def run_migration_check(check_id: int) -> str | None:
    """Compare the check's two backends; returns its final status (None: no
    such check). Safe to run twice: a check runs once."""
    check = run_check(check_id)
    return None if check is None else check.status
