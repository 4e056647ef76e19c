"""Background work on domains and backends."""

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


@shared_task
def check_backend_health() -> int:
    """One round of health checks of every backend of the rules with alternates
    (apps.packages.health); returns how many changed health. Safe to run twice:
    a second round only counts one more check."""
    from .health import check_all

    return check_all()
