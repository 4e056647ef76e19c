"""Day summaries: each finished day's counts, grouped the ways pages ask.

A page shows, for a range of days, totals, a series, and the top values of
several dimensions, for all packages or one, with or without one filter.
Read from the raw events, that is a scan of every event of the range per
card; read from the rollups it cannot be filtered, and unique sources over
a range are a COUNT(DISTINCT) over the source days. Once a UTC day is over,
its counts no longer change (its unique sources neither: the source hash's
salt is daily), so `summarise` stores them once, from the raw events:
for every package and for all packages together (package ""), without a
filter and for each value of each filter, per value of each dimension.
A page then reads a few hundred small rows a day.

Networks and client versions have hundreds of values: each group keeps its
`TOP_VALUES` largest (by events) and adds the rest up under `OTHER`, so a
value's count over a range is exact whenever it was among a day's largest,
and a lower bound otherwise.

Late events (a day already summarised receiving an event: a delayed
delivery, a spool replayed after an outage) make ingestion delete the day's
`SummarisedDay` marker (`forget`); the day is then read from the rollups and
raw events until `summarise_due` summarises it again. Raw events stay the
source of truth: `rebuild` regenerates the rollups, source days and
summaries of a range from them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction

from .models import DaySummary, Rollup, SummarisedDay

OTHER = "(other)"
# How far back `summarise_due` looks for days to summarise (late events of
# older days are read live until `rebuild_analytics` summarises them).
LOOKBACK_DAYS = 7
TOP_VALUES = 20
TOPPED = ("asn_org", "client_version")
# A filter's value as a raw event has it (CI: "true" for any CI system).
FILTER_VALUES = {
    "version": "e.version",
    "client": "e.client",
    "country": "e.country",
    "ci": "(e.ci <> '')::text",
}
# A dimension's value as a raw event has it (as ingestion counts the rollups).
DIMENSION_VALUES = {
    "total": "''",
    "hour": "to_char(e.timestamp AT TIME ZONE 'UTC', 'HH24')",
    "version": "e.version",
    "client": "e.client",
    "client_version": "TRIM(e.client || ' ' || e.client_version)",
    "os": "e.os",
    "arch": "e.arch",
    "country": "e.country",
    "asn_org": "e.asn_org",
    "domain": "e.domain",
    "ci": "e.ci",
}
# Dimensions a summary has: those above and, for all packages, `package`;
# one package with a filter has only those its page shows (the hours, client
# versions and domains of a filtered package are read live: API only).
DIMENSIONS = (*DIMENSION_VALUES, "package")
PACKAGE_FILTERED = ("total", "version", "client", "os", "arch", "country", "asn_org", "ci")


def summarised(package: bool, filtered: bool, dimension: str) -> bool:
    """Whether summaries count `dimension` for one package (or all) and a
    filter (or none)."""
    if package:
        return dimension in (PACKAGE_FILTERED if filtered else DIMENSION_VALUES)
    return dimension in DIMENSIONS


COUNTS = (
    "count(*) AS events, "
    "count(*) FILTER (WHERE e.download AND NOT e.bot) AS downloads, "
    "count(*) FILTER (WHERE e.download AND e.bot) AS bot_downloads"
)
SOURCE = "e.download AND NOT e.bot AND e.source_id <> ''"
EVENTS = (
    "FROM analytics_downloadevent e WHERE e.organisation_id = %(organisation)s "
    "AND e.timestamp >= %(start)s AND e.timestamp < %(end)s"
)


# The columns a summary reads (a raw row is ten times wider).
NARROW = [
    "e.timestamp",
    "e.package",
    "e.version",
    "e.client",
    "e.client_version",
    "e.os",
    "e.arch",
    "e.country",
    "e.asn_org",
    "e.domain",
    "e.ci",
    "e.download",
    "e.bot",
    "e.source_id",
]


def values_list(expressions: dict[str, str], name: str) -> str:
    """A LATERAL list giving each raw event one row per (name, value) pair."""
    pairs = ", ".join(f"('{key}', {value})" for key, value in expressions.items())
    return f"CROSS JOIN LATERAL (VALUES {pairs}) AS {name}({name}, {name}_value)"


_FILTERS = values_list({"": "''", **FILTER_VALUES}, "f")
_DIMENSIONS = values_list(DIMENSION_VALUES, "d")
_TOPPED = ", ".join(f"'{dimension}'" for dimension in TOPPED)
_PACKAGE_FILTERED = ", ".join(f"'{dimension}'" for dimension in PACKAGE_FILTERED)
# Counts per package, filter and dimension value, then the same for all
# packages (package "") with a `package` dimension; topped dimensions cut to
# their largest values; then each `total` row given its unique sources.
SUMMARY_SQL = f"""
WITH narrow AS MATERIALIZED (
    SELECT {", ".join(NARROW)} {EVENTS}
), counted AS (
    SELECT e.package, f.f AS filter, f.f_value AS filter_value,
           d.d AS dimension, d.d_value AS value, {COUNTS}
    FROM narrow e {_FILTERS} {_DIMENSIONS}
    GROUP BY 1, 2, 3, 4, 5
), scoped AS (
    SELECT package, filter, filter_value, dimension, value, events, downloads, bot_downloads
    FROM counted WHERE package <> '' AND (filter = '' OR dimension IN ({_PACKAGE_FILTERED}))
    UNION ALL
    SELECT '', filter, filter_value, dimension, value,
           sum(events), sum(downloads), sum(bot_downloads)
    FROM counted GROUP BY 2, 3, 4, 5
    UNION ALL
    SELECT '', filter, filter_value, 'package', package, events, downloads, bot_downloads
    FROM counted WHERE dimension = 'total'
), ranked AS (
    SELECT *, row_number() OVER (
        PARTITION BY package, filter, filter_value, dimension ORDER BY events DESC, value
    ) AS rank
    FROM scoped WHERE dimension IN ({_TOPPED})
), kept AS (
    SELECT package, filter, filter_value, dimension, value, events, downloads, bot_downloads
    FROM scoped WHERE dimension NOT IN ({_TOPPED})
    UNION ALL
    SELECT package, filter, filter_value, dimension,
           CASE WHEN rank <= {TOP_VALUES} THEN value ELSE '{OTHER}' END,
           sum(events), sum(downloads), sum(bot_downloads)
    FROM ranked GROUP BY 1, 2, 3, 4, 5
), sources AS (
    SELECT COALESCE(e.package, '') AS package, f.f AS filter, f.f_value AS filter_value,
           count(DISTINCT e.source_id) AS sources
    FROM narrow e {_FILTERS} WHERE {SOURCE}
    GROUP BY GROUPING SETS ((e.package, f.f, f.f_value), (f.f, f.f_value))
    HAVING e.package IS NULL OR e.package <> ''
)
INSERT INTO analytics_daysummary (organisation_id, day, package, filter, filter_value,
    dimension, value, events, downloads, bot_downloads, sources)
SELECT %(organisation)s, %(day)s, k.package, k.filter, k.filter_value, k.dimension, k.value,
       k.events, k.downloads, k.bot_downloads, COALESCE(s.sources, 0)
FROM kept k LEFT JOIN sources s ON k.dimension = 'total' AND s.package = k.package
    AND s.filter = k.filter AND s.filter_value = k.filter_value
"""  # noqa: S608 - built from this module's constants


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def summarise(organisation_id: int, day: date) -> None:
    """(Re)write the summary of the organisation's `day` from its raw events."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        DaySummary.objects.filter(organisation_id=organisation_id, day=day).delete()
        cursor.execute(
            SUMMARY_SQL,
            {
                "organisation": organisation_id,
                "day": day,
                "start": midnight(day),
                "end": midnight(day + timedelta(days=1)),
            },
        )
        SummarisedDay.objects.get_or_create(organisation_id=organisation_id, day=day)


def due(today: date) -> list[tuple[int, date]]:
    """The (organisation, day) pairs of the LOOKBACK_DAYS before `today` with
    rollups but no summary, oldest first (older days: `rebuild_analytics`)."""
    first = today - timedelta(days=LOOKBACK_DAYS)
    counted = (
        Rollup.objects.filter(
            period="day",
            dimension="total",
            bucket__gte=midnight(first),
            bucket__lt=midnight(today),
        )
        .values_list("organisation_id", "bucket")
        .distinct()
    )
    summarised = set(
        SummarisedDay.objects.filter(day__gte=first).values_list("organisation_id", "day")
    )
    pairs = {(organisation, bucket.date()) for organisation, bucket in counted}
    return sorted(pairs - summarised, key=lambda pair: (pair[1], pair[0]))


def summarise_due(today: date) -> int:
    """Summarise every finished day that is due and still has raw events;
    returns how many were summarised (none in embedded mode: SQLite reads
    the rollups and raw events)."""
    from .models import DownloadEvent

    if connection.vendor != "postgresql":
        return 0
    summarised = 0
    for organisation_id, day in due(today):
        has_events = DownloadEvent.objects.filter(
            organisation_id=organisation_id,
            timestamp__gte=midnight(day),
            timestamp__lt=midnight(day + timedelta(days=1)),
        ).exists()
        if has_events:
            summarise(organisation_id, day)
            summarised += 1
    return summarised


def forget(cursor, days: Iterable[tuple[int, str]], today: date) -> None:
    """Mark finished days that received new events as not summarised
    (`days`: (organisation, ISO day) pairs of a stored batch)."""
    late = sorted((organisation, day) for organisation, day in days if day < today.isoformat())
    for organisation, day in late:
        cursor.execute(
            "DELETE FROM analytics_summarisedday WHERE organisation_id = %s AND day = %s",
            [organisation, day],
        )


def summarised_days(organisation_id: int, start: date, end: date) -> set[date]:
    return set(
        SummarisedDay.objects.filter(
            organisation_id=organisation_id, day__range=(start, end)
        ).values_list("day", flat=True)
    )
