"""Analytics shaped for pages: what the query functions return, per day and
per breakdown, with the gaps a chart needs filled."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from apps.analytics import queries

BREAKDOWNS = [
    ("version", "Version"),
    ("client", "Client"),
    ("os", "Operating system"),
    ("arch", "Architecture"),
    ("country", "Country"),
    ("asn_org", "Network (ASN organisation)"),
    ("ci", "CI system"),
]
EMPTY_LABELS = {"ci": "not CI"}


def filled(by_day: dict[date, int], start: date, end: date) -> list[int]:
    """Counts per day from `start` to `end`, zeros for the days without any."""
    return [by_day.get(start + timedelta(days=n), 0) for n in range((end - start).days + 1)]


def sparkline(counts: list[int], width: int = 120, height: int = 24) -> str:
    """SVG polyline points drawing `counts` in a width × height box."""
    peak = max(counts, default=0) or 1
    step = width / max(len(counts) - 1, 1)
    return " ".join(
        f"{n * step:.1f},{height - count * (height - 2) / peak - 1:.1f}"
        for n, count in enumerate(counts)
    )


def report(
    organisation_id: int,
    interval: str,
    *,
    start: date,
    end: date,
    packages: list[str] | None,
    filters: queries.Filters,
    include_bots: bool,
) -> dict[str, Any]:
    """Everything an analytics page shows for the period."""
    counting = {"packages": packages, "include_bots": include_bots, "filters": filters}
    series = queries.time_series(organisation_id, start, end, interval, **counting)
    # Unique sources are counted per day (the salt changes daily): none per hour.
    sources = (
        []
        if interval == "hour"
        else queries.unique_sources(organisation_id, start, end, interval, packages, filters)
    )
    breakdowns = [
        {
            "dimension": dimension,
            "title": title,
            "rows": [
                {**row, "label": row["value"] or EMPTY_LABELS.get(dimension, "unknown")}
                for row in queries.top(organisation_id, dimension, start, end, 10, **counting)
            ],
        }
        for dimension, title in BREAKDOWNS
    ]
    starts = periods(start, end, interval)
    downloads_by_period = {_period_key(row["period"], interval): row["count"] for row in series}
    sources_by_period = {_period_key(row["period"], interval): row["count"] for row in sources}
    labels = [_period_key(period, interval) for period in starts]
    downloads = [downloads_by_period.get(label, 0) for label in labels]
    sources = [sources_by_period.get(label, 0) for label in labels] if interval != "hour" else []
    previous_start, previous_end = previous_period(start, end)
    totals = queries.totals(organisation_id, start, end, **counting)
    previous = queries.totals(organisation_id, previous_start, previous_end, **counting)
    return {
        "totals": totals,
        "previous": {
            key: {"count": previous[key], "change": change(totals[key], previous[key])}
            for key in totals
        },
        "previous_period": (previous_start, previous_end),
        "top_packages": None
        if packages
        else top_packages(organisation_id, start, end, include_bots, filters),
        "series": {"labels": labels, "downloads": downloads, "sources": sources},
        "series_rows": list(zip(labels, downloads, sources or [None] * len(labels), strict=True)),
        "breakdowns": breakdowns,
    }


def change(current: int, previous: int) -> str:
    """The change from the previous period's figure, as a page shows it."""
    if previous == 0:
        return "new" if current else "no change"
    percent = round((current - previous) * 100 / previous)
    return "no change" if percent == 0 else f"{percent:+d} %".replace("-", "−")


def package_overview(organisation_id: int, package: str, end: date, days: int = 30) -> dict:
    """A package page's downloads: per day over `days` days to `end` (zeros
    included), their total beside the previous period's, and the top versions
    and clients."""
    start = end - timedelta(days=days - 1)
    counting = {"packages": [package]}
    daily = {
        row["period"].date(): row["count"]
        for row in queries.time_series(organisation_id, start, end, **counting)
    }
    previous = queries.totals(
        organisation_id, start - timedelta(days=days), start - timedelta(days=1), **counting
    )["downloads"]
    counts = filled(daily, start, end)
    labels = [(start + timedelta(days=n)).isoformat() for n in range(days)]
    total = sum(counts)
    return {
        "days": days,
        "total": total,
        "previous": previous,
        "change": change(total, previous),
        "series": {"labels": labels, "downloads": counts},
        "per_day": list(zip(labels, counts, strict=True)),
        "versions": queries.top(organisation_id, "version", start, end, 5, **counting),
        "clients": queries.top(organisation_id, "client", start, end, 5, **counting),
    }


def periods(start: date, end: date, interval: str) -> list[datetime]:
    """The start of every hour, day, week (Monday) or month from `start` to `end`
    (UTC days, both included): a chart's every point, those without downloads too."""
    if interval == "hour":
        first = datetime.combine(start, time(), tzinfo=UTC)
        return [first + timedelta(hours=n) for n in range(((end - start).days + 1) * 24)]
    if interval == "week":
        day, step = start - timedelta(days=start.weekday()), timedelta(weeks=1)
    elif interval == "month":
        day, step = start.replace(day=1), None
    else:
        day, step = start, timedelta(days=1)
    found = []
    while day <= end:
        found.append(datetime.combine(day, time(), tzinfo=UTC))
        day = day + step if step else (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return found


def _period_key(period: date | datetime, interval: str) -> str:
    """How a period is labelled: its hour (ISO, UTC) or its first day."""
    if interval == "hour":
        return period.astimezone(UTC).strftime("%Y-%m-%dT%H:00Z")
    return (period.date() if isinstance(period, datetime) else period).isoformat()


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length just before `start`..`end`."""
    length = end - start + timedelta(days=1)
    return start - length, end - length


def top_packages(
    organisation_id: int,
    start: date,
    end: date,
    include_bots: bool,
    filters: queries.Filters,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """The packages with the most downloads in the period, each with the previous
    period's figure, the change and a sparkline of its days."""
    counting = {"include_bots": include_bots, "filters": filters}
    top = queries.top(organisation_id, "package", start, end, limit, **counting)
    if not top:
        return []
    keys = [row["value"] for row in top]
    previous_start, previous_end = previous_period(start, end)
    earlier = queries.top(
        organisation_id, "package", previous_start, previous_end, None, packages=keys, **counting
    )
    before = {row["value"]: row["count"] for row in earlier}
    # The sparklines count from the rollups: without filters only.
    days = {} if filters else queries.package_days(organisation_id, start, end, keys)
    rows = []
    for row in top:
        key, earlier_count = row["value"], before.get(row["value"], 0)
        rows.append(
            {
                "package": key,
                "count": row["count"],
                "previous": earlier_count,
                "change": change(row["count"], earlier_count),
                "points": None if filters else sparkline(filled(days.get(key, {}), start, end)),
            }
        )
    return rows
