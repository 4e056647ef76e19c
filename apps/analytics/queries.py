"""What dashboards and the analytics API ask: read from the rollups only.

Dates are UTC calendar days, `start` and `end` both included. `packages`
narrows to some of the organisation's packages (None: all). Download counts
leave bots out unless the organisation counts them (AnalyticsSettings) or the
caller says otherwise with `include_bots`. Unique sources are per day (the
source hash's salt changes daily); over a week or a month they are the sum of
the daily figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncMonth, TruncWeek

from .ingest import DIMENSIONS
from .models import AnalyticsSettings, Rollup, SourceDay

INTERVALS = ("hour", "day", "week", "month")
METRICS = ("downloads", "events")


def time_series(
    organisation_id: int,
    start: date,
    end: date,
    interval: str = "day",
    breakdown: str | None = None,
    packages: Sequence[str] | None = None,
    metric: str = "downloads",
    include_bots: bool | None = None,
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
    rows = _rollups(organisation_id, start, end, breakdown or "total", packages, period_kind)
    period = {"week": TruncWeek("bucket", tzinfo=UTC), "month": TruncMonth("bucket", tzinfo=UTC)}
    rows = rows.annotate(period_start=period.get(interval, F("bucket")))
    fields = ["period_start", "value"] if breakdown else ["period_start"]
    counted = (
        rows.values(*fields)
        .annotate(count=_count(organisation_id, metric, include_bots))
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
) -> list[dict[str, Any]]:
    """The `limit` values of `dimension` with the highest counts:
    `[{"value": str, "count": int}]`, highest first. `dimension="package"`
    ranks the packages themselves."""
    by_package = dimension == "package"
    rows = _rollups(organisation_id, start, end, "total" if by_package else dimension, packages)
    field = "package" if by_package else "value"
    counted = (
        rows.values(field)
        .annotate(count=_count(organisation_id, metric, include_bots))
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
) -> dict[str, int]:
    """Events, downloads and bot downloads in the range, and the daily unique
    sources summed over it. `downloads` follows the bot toggle."""
    sums = _rollups(organisation_id, start, end, "total", packages).aggregate(
        events=Sum("events"),
        downloads=_count(organisation_id, "downloads", include_bots),
        bot_downloads=Sum("bot_downloads"),
    )
    counts = {key: value or 0 for key, value in sums.items()}
    counts["unique_sources"] = sum(
        row["count"] for row in unique_sources(organisation_id, start, end, "day", packages)
    )
    return counts


def unique_sources(
    organisation_id: int,
    start: date,
    end: date,
    interval: str = "day",
    packages: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Distinct sources that downloaded per day (one source downloading two
    packages counts once), summed per week or month:
    `[{"period": date, "count": int}]`."""
    if interval not in INTERVALS[1:]:
        raise ValueError("unique sources are counted per day, week or month")
    sources = SourceDay.objects.filter(organisation_id=organisation_id, day__range=(start, end))
    if packages is not None:
        sources = sources.filter(package__in=packages)
    daily = sources.values("day").annotate(count=Count("source_id", distinct=True)).order_by("day")
    totals_by_period: dict[date, int] = {}
    for row in daily:
        period = _period_start(row["day"], interval)
        totals_by_period[period] = totals_by_period.get(period, 0) + row["count"]
    return [{"period": period, "count": count} for period, count in totals_by_period.items()]


def _rollups(
    organisation_id: int,
    start: date,
    end: date,
    dimension: str,
    packages: Sequence[str] | None,
    period: str = "day",
):
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)}")
    rows = Rollup.objects.filter(
        organisation_id=organisation_id,
        period=period,
        dimension=dimension,
        bucket__gte=_midnight(start),
        bucket__lt=_midnight(end + timedelta(days=1)),
    )
    if packages is not None:
        rows = rows.filter(package__in=packages)
    return rows


def _count(organisation_id: int, metric: str, include_bots: bool | None):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}")
    if metric == "events":
        return Sum("events")
    if include_bots is None:
        include_bots = AnalyticsSettings.for_organisation(organisation_id).count_bots
    return Sum(F("downloads") + F("bot_downloads")) if include_bots else Sum("downloads")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _period_start(day: date, interval: str) -> date:
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    return day
