"""Background work on domains."""

from __future__ import annotations

from celery import shared_task

from .models import Domain
from .services import verify_domain


@shared_task
def verify_pending_domains() -> int:
    """Check every claimed domain still waiting for its DNS record; returns how
    many became verified. Safe to run twice: verified domains are skipped."""
    verified = 0
    for domain in Domain.objects.filter(verified=False).order_by("checked", "id"):
        verified += verify_domain(domain)
    return verified
