"""Regenerate every table derived from the raw events, for a range of days.

Rollups, source days and day summaries are derived data: for each day of
the range that still has raw events, `rebuild` deletes what was derived for
it and derives it again from the raw events, with the code ingestion uses
(`ingest.aggregate` and its upserts), then summarises the finished days.
Days whose raw events retention already deleted keep their rollups.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.db import connection, transaction

from . import ingest, summaries
from .models import DaySummary, Rollup, SourceDay, SummarisedDay

# The fields `ingest.aggregate` reads, selected from the raw table; the
# timestamp as ingestion receives it (ISO, UTC).
AGGREGATED = [
    "organisation_id",
    "package",
    "download",
    "bot",
    "source_id",
    "version",
    "client",
    "client_version",
    "os",
    "arch",
    "country",
    "asn_org",
    "domain",
    "referer",
    "ci",
]
RAW_SQL = (
    "SELECT to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS+00:00'), "  # noqa: S608
    f"{', '.join(AGGREGATED)} FROM analytics_downloadevent "
    "WHERE organisation_id = %s AND timestamp >= %s AND timestamp < %s"
)


def raw_days(organisation_id: int, start: date, end: date) -> list[date]:
    """The days from `start` to `end` with raw events of the organisation."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT (timestamp AT TIME ZONE 'UTC')::date FROM analytics_downloadevent "
            "WHERE organisation_id = %s AND timestamp >= %s AND timestamp < %s ORDER BY 1",
            [organisation_id, summaries.midnight(start), summaries.midnight(end + timedelta(1))],
        )
        return [row[0] for row in cursor.fetchall()]


def rebuild(organisation_id: int, start: date, end: date, today: date) -> list[date]:
    """Derive again the organisation's days from `start` to `end` that have
    raw events; returns them."""
    days = raw_days(organisation_id, start, end)
    for day in days:
        derive_day(organisation_id, day)
        if day < today:
            summaries.summarise(organisation_id, day)
    return days


def derive_day(organisation_id: int, day: date) -> None:
    """Replace the day's rollups and source days with those of its raw events."""
    bounds = [summaries.midnight(day), summaries.midnight(day + timedelta(days=1))]
    with transaction.atomic():
        Rollup.objects.filter(
            organisation_id=organisation_id, bucket__gte=bounds[0], bucket__lt=bounds[1]
        ).delete()
        SourceDay.objects.filter(organisation_id=organisation_id, day=day).delete()
        DaySummary.objects.filter(organisation_id=organisation_id, day=day).delete()
        SummarisedDay.objects.filter(organisation_id=organisation_id, day=day).delete()
        with connection.cursor() as cursor:
            cursor.execute(RAW_SQL, [organisation_id, *bounds])
            names = ["timestamp", *AGGREGATED]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            rollups, sources = ingest.aggregate(rows)
            ingest.upsert_sources(cursor, sources)
            ingest.upsert_rollups(cursor, rollups)
