"""What dashboards and the analytics API ask: read from the rollups only.

Dates are UTC calendar days, `start` and `end` both included. `packages`
narrows to some of the organisation's packages (None: all). Download counts
leave bots out unless the organisation counts them (AnalyticsSettings) or the
caller says otherwise with `include_bots`. Unique sources are per day (the
source hash's salt changes daily); over a week or a month they are the sum of
the daily figures.

`filters` narrows to events of a version, a client, a country, or CI or not
(see `Filters`). A rollup counts one dimension at a time, so it cannot say how
many downloads of version 1.0 came from Germany: filtered counts are read
from the raw events instead, and so reach back only as far as the
organisation keeps raw events (AnalyticsSettings.retention_days).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Aggregate, Count, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Concat, Trim, Trunc, TruncDate, TruncMonth, TruncWeek

from .ingest import DIMENSIONS
from .models import AnalyticsSettings, DownloadEvent, Rollup, SourceDay

INTERVALS = ("hour", "day", "week", "month")
METRICS = ("downloads", "events")


@dataclass(frozen=True)
class Filters:
    """Count only the events with these properties (None: any): an exact
    version, client or country code; `ci` True for CI systems' events only,
    False for the others."""

    version: str | None = None
    client: str | None = None
    country: str | None = None
    ci: bool | None = None

    def __bool__(self) -> bool:
        return any(value is not None for value in astuple(self))

    def q(self) -> Q:
        """The raw events these filters keep."""
        exact = {"version": self.version, "client": self.client, "country": self.country}
        kept = Q(**{field: value for field, value in exact.items() if value is not None})
        if self.ci is not None:
            kept &= ~Q(ci="") if self.ci else Q(ci="")
        return kept


ANY = Filters()


@dataclass(frozen=True)
class _Counts:
    """What a row source counts, as aggregates."""

    events: Aggregate
    downloads: Aggregate  # bots left out
    bot_downloads: Aggregate
    downloads_and_bots: Aggregate


ROLLUP_COUNTS = _Counts(
    Sum("events"),
    Sum("downloads"),
    Sum("bot_downloads"),
    Sum(F("downloads") + F("bot_downloads")),
)
EVENT_COUNTS = _Counts(
    Count("id"),
    Count("id", filter=Q(download=True, bot=False)),
    Count("id", filter=Q(download=True, bot=True)),
    Count("id", filter=Q(download=True)),
)
# The value a raw event has for each dimension (as ingestion computes it for
# the rollups). The referer's host is computed in Python at ingestion only.
EVENT_VALUES = {
    "total": Value(""),
    "client_version": Trim(Concat("client", Value(" "), "client_version")),
    **{
        dimension: F(dimension)
        for dimension in ("version", "client", "os", "arch", "country", "asn_org", "domain", "ci")
    },
}


def time_series(
    organisation_id: int,
    start: date,
    end: date,
    interval: str = "day",
    breakdown: str | None = None,
    packages: Sequence[str] | None = None,
    metric: str = "downloads",
    include_bots: bool | None = None,
    filters: Filters = ANY,
) -> list[dict[str, Any]]:
    """Counts per period (and per value of `breakdown`, values counting
    nothing left out), oldest first:
    `[{"period": datetime, "value": str (with a breakdown), "count": int}]`.
    `interval="hour"` is available without a breakdown only."""
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    if interval == "hour" and breakdown:
        raise ValueError("hourly counts have no breakdown")
    period_kind = "hour" if interval == "hour" else "day"
    rows, counts = _rows(
        organisation_id, start, end, breakdown or "total", packages, filters, period_kind
    )
    period = {"week": TruncWeek("bucket", tzinfo=UTC), "month": TruncMonth("bucket", tzinfo=UTC)}
    rows = rows.annotate(period_start=period.get(interval, F("bucket")))
    fields = ["period_start", "value"] if breakdown else ["period_start"]
    counted = (
        rows.values(*fields)
        .annotate(count=_count(organisation_id, counts, metric, include_bots))
        .order_by(*fields)
    )
    if breakdown:
        counted = counted.filter(count__gt=0)
    return [
        {"period": row["period_start"], "count": row["count"]}
        | ({"value": row["value"]} if breakdown else {})
        for row in counted
    ]


def top(
    organisation_id: int,
    dimension: str,
    start: date,
    end: date,
    limit: int = 10,
    packages: Sequence[str] | None = None,
    metric: str = "downloads",
    include_bots: bool | None = None,
    filters: Filters = ANY,
) -> list[dict[str, Any]]:
    """The `limit` values of `dimension` with the highest counts:
    `[{"value": str, "count": int}]`, highest first. `dimension="package"`
    ranks the packages themselves."""
    by_package = dimension == "package"
    rows, counts = _rows(
        organisation_id, start, end, "total" if by_package else dimension, packages, filters
    )
    field = "package" if by_package else "value"
    counted = (
        rows.values(field)
        .annotate(count=_count(organisation_id, counts, metric, include_bots))
        .filter(count__gt=0)
        .order_by("-count", field)[:limit]
    )
    return [{"value": row[field], "count": row["count"]} for row in counted]


def totals(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None = None,
    include_bots: bool | None = None,
    filters: Filters = ANY,
) -> dict[str, int]:
    """Events, downloads and bot downloads in the range, and the daily unique
    sources summed over it. `downloads` follows the bot toggle."""
    rows, counts = _rows(organisation_id, start, end, "total", packages, filters)
    sums = rows.aggregate(
        events=counts.events,
        downloads=_count(organisation_id, counts, "downloads", include_bots),
        bot_downloads=counts.bot_downloads,
    )
    result = {key: value or 0 for key, value in sums.items()}
    result["unique_sources"] = sum(
        row["count"]
        for row in unique_sources(organisation_id, start, end, "day", packages, filters)
    )
    return result


def unique_sources(
    organisation_id: int,
    start: date,
    end: date,
    interval: str = "day",
    packages: Sequence[str] | None = None,
    filters: Filters = ANY,
) -> list[dict[str, Any]]:
    """Distinct sources that downloaded per day (one source downloading two
    packages counts once), summed per week or month:
    `[{"period": date, "count": int}]`."""
    if interval not in INTERVALS[1:]:
        raise ValueError("unique sources are counted per day, week or month")
    sources = _sources(organisation_id, start, end, packages, filters)
    daily = sources.values("day").annotate(count=Count("source_id", distinct=True)).order_by("day")
    totals_by_period: dict[date, int] = {}
    for row in daily:
        period = _period_start(row["day"], interval)
        totals_by_period[period] = totals_by_period.get(period, 0) + row["count"]
    return [{"period": period, "count": count} for period, count in totals_by_period.items()]


def _rows(
    organisation_id: int,
    start: date,
    end: date,
    dimension: str,
    packages: Sequence[str] | None,
    filters: Filters,
    period: str = "day",
) -> tuple[QuerySet, _Counts]:
    """Rows with a `bucket` (the hour's or day's start), a `package` and the
    dimension's `value`, and what they count: the rollups, or the raw events
    when filtered."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
    if filters:
        return _events(organisation_id, start, end, dimension, packages, filters, period)
    rows = Rollup.objects.filter(
        organisation_id=organisation_id,
        period=period,
        dimension=dimension,
        bucket__gte=_midnight(start),
        bucket__lt=_midnight(end + timedelta(days=1)),
    )
    if packages is not None:
        rows = rows.filter(package__in=packages)
    return rows, ROLLUP_COUNTS


def _events(
    organisation_id: int,
    start: date,
    end: date,
    dimension: str,
    packages: Sequence[str] | None,
    filters: Filters,
    period: str,
) -> tuple[QuerySet, _Counts]:
    if dimension not in EVENT_VALUES:
        raise ValueError(f"filtered counts have no {dimension} breakdown")
    rows = raw_events(organisation_id, start, end, packages, filters).annotate(
        bucket=Trunc("timestamp", period, tzinfo=UTC), value=EVENT_VALUES[dimension]
    )
    return rows, EVENT_COUNTS


def raw_events(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None = None,
    filters: Filters = ANY,
) -> QuerySet:
    """The organisation's raw events of the range that `filters` keep."""
    events = DownloadEvent.objects.filter(
        filters.q(),
        organisation_id=organisation_id,
        timestamp__gte=_midnight(start),
        timestamp__lt=_midnight(end + timedelta(days=1)),
    )
    return events if packages is None else events.filter(package__in=packages)


def _sources(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None,
    filters: Filters,
) -> QuerySet:
    """Rows with a `day` and a `source_id` that downloaded (bots left out)."""
    if filters:
        events = raw_events(organisation_id, start, end, packages, filters)
        downloads = events.filter(download=True, bot=False).exclude(source_id="")
        return downloads.annotate(day=TruncDate("timestamp", tzinfo=UTC))
    sources = SourceDay.objects.filter(organisation_id=organisation_id, day__range=(start, end))
    return sources if packages is None else sources.filter(package__in=packages)


def _count(organisation_id: int, counts: _Counts, metric: str, include_bots: bool | None):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}")
    if metric == "events":
        return counts.events
    if include_bots is None:
        include_bots = AnalyticsSettings.for_organisation(organisation_id).count_bots
    return counts.downloads_and_bots if include_bots else counts.downloads


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day


def package_activity(
    organisation_id: int, start: date, end: date, include_bots: bool | None = None
) -> dict[str, dict[str, Any]]:
    """Each package's downloads in the range and the day of its last one there,
    in one query however many packages there are:
    `{package: {"downloads": int, "last": date | None}}` (packages without
    rows in the range left out)."""
    if include_bots is None:
        include_bots = AnalyticsSettings.for_organisation(organisation_id).count_bots
    rows, counts = _rows(organisation_id, start, end, "total", None, ANY)
    downloaded = Q(downloads__gt=0) | Q(bot_downloads__gt=0) if include_bots else Q(downloads__gt=0)
    counted = rows.values("package").annotate(
        count=_count(organisation_id, counts, "downloads", include_bots),
        last=Max("bucket", filter=downloaded),
    )
    return {
        row["package"]: {"downloads": row["count"] or 0, "last": row["last"] and row["last"].date()}
        for row in counted
    }


def package_days(
    organisation_id: int, start: date, end: date, packages: Sequence[str]
) -> dict[str, dict[date, int]]:
    """Downloads per day of each of `packages` (days without any left out)."""
    rows, counts = _rows(organisation_id, start, end, "total", packages, ANY)
    downloads = _count(organisation_id, counts, "downloads", None)
    by_package: dict[str, dict[date, int]] = {}
    for row in rows.values("package", "bucket").annotate(count=downloads):
        by_package.setdefault(row["package"], {})[row["bucket"].date()] = row["count"] or 0
    return by_package
