"""Retention: raw events older than an organisation's retention are deleted.

Whole monthly partitions go first (a cheap DROP) once they are older than
the longest retention any organisation has; what remains past each
organisation's own limit is deleted row by row. Rollups are kept: they hold
counts, not anything about a person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings

from . import partitions
from .models import AnalyticsSettings, DownloadEvent


def apply(now: datetime) -> int:
    """Returns how many rows were deleted row by row (dropped partitions aside)."""
    default_days = settings.ANALYTICS_RETENTION_DAYS
    custom = dict(
        AnalyticsSettings.objects.filter(retention_days__isnull=False).values_list(
            "organisation_id", "retention_days"
        )
    )
    longest = max([default_days, *custom.values()])
    partitions.drop_months_before(now - timedelta(days=longest))

    deleted, _ = (
        DownloadEvent.objects.filter(timestamp__lt=now - timedelta(days=default_days))
        .exclude(organisation_id__in=custom)
        .delete()
    )
    for organisation_id, days in custom.items():
        count, _ = DownloadEvent.objects.filter(
            organisation_id=organisation_id, timestamp__lt=now - timedelta(days=days)
        ).delete()
        deleted += count
    return deleted
