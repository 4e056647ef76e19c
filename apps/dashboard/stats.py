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
    """Everything an analytics page shows for the period, from one read of
    the period and the one before it (queries.counts)."""
    previous_start, previous_end = previous_period(start, end)
    dimensions = [
        "total",
        *(["hour"] if interval == "hour" else []),
        *(dimension for dimension, _ in BREAKDOWNS),
        *([] if packages else ["package"]),
    ]
    counted = queries.counts(
        organisation_id, previous_start, end, dimensions, packages, filters, split=start
    )
    breakdowns = [
        {
            "dimension": dimension,
            "title": title,
            "rows": [
                {**row, "label": _label(dimension, row["value"])}
                for row in _top(counted, dimension, start, include_bots)
            ],
        }
        for dimension, title in BREAKDOWNS
    ]
    labels = [_period_key(period, interval) for period in periods(start, end, interval)]
    downloads = _per_period(
        counted, "hour" if interval == "hour" else "total", interval, start, include_bots
    )
    # Unique sources are counted per day (the salt changes daily): none per hour.
    sources_by_period = {} if interval == "hour" else _sources_per_period(counted, interval, start)
    sources = [sources_by_period.get(label, 0) for label in labels] if interval != "hour" else []
    downloads = [downloads.get(label, 0) for label in labels]
    totals = queries.summed(counted, include_bots, start, end)
    previous = queries.summed(counted, include_bots, previous_start, previous_end)
    return {
        "totals": totals,
        "previous": {
            key: {"count": previous[key], "change": change(totals[key], previous[key])}
            for key in totals
        },
        "previous_period": (previous_start, previous_end),
        "top_packages": None
        if packages
        else top_packages(organisation_id, counted, start, end, include_bots, filters),
        "series": {"labels": labels, "downloads": downloads, "sources": sources},
        "series_rows": list(zip(labels, downloads, sources or [None] * len(labels), strict=True)),
        "breakdowns": breakdowns,
    }


def _label(dimension: str, value: str) -> str:
    if value == queries.OTHER:
        return "others"
    return value or EMPTY_LABELS.get(dimension, "unknown")


def _top(counted: queries.Counted, dimension: str, start: date, include_bots: bool, limit=10):
    """The period's (not the previous one's) top values of `dimension`."""
    return queries.ranked(counted.get(dimension, {}), "downloads", include_bots, limit, start)


def _per_period(counted, dimension: str, interval: str, start: date, include_bots: bool):
    """Downloads per period label of the days from `start`."""
    found: dict[str, int] = {}
    for (value, day), counts in counted.get(dimension, {}).items():
        if day >= start:
            label = _period_key(queries.period_start(day, value, interval), interval)
            found[label] = found.get(label, 0) + counts.count("downloads", include_bots)
    return found


def _sources_per_period(counted, interval: str, start: date) -> dict[str, int]:
    return {
        _period_key(row["period"], interval): row["count"]
        for row in queries.sources_per_period(counted, interval, start)
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
    and clients (one read: queries.counts)."""
    start = end - timedelta(days=days - 1)
    previous_start = start - timedelta(days=days)
    include_bots = queries.AnalyticsSettings.for_organisation(organisation_id).count_bots
    counted = queries.counts(
        organisation_id, previous_start, end, ["total", "version", "client"], [package], split=start
    )
    daily = _per_period(counted, "total", "day", start, include_bots)
    labels = [(start + timedelta(days=n)).isoformat() for n in range(days)]
    counts = [daily.get(label, 0) for label in labels]
    total = sum(counts)
    previous = queries.summed(counted, include_bots, previous_start, start - timedelta(days=1))
    return {
        "days": days,
        "total": total,
        "previous": previous["downloads"],
        "change": change(total, previous["downloads"]),
        "series": {"labels": labels, "downloads": counts},
        "per_day": list(zip(labels, counts, strict=True)),
        "versions": _top(counted, "version", start, include_bots, 5),
        "clients": _top(counted, "client", start, include_bots, 5),
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
    counted: queries.Counted,
    start: date,
    end: date,
    include_bots: bool,
    filters: queries.Filters,
    limit: int = 10,
) -> list[dict[str, Any]]:
    """The packages with the most downloads in the period, each with the previous
    period's figure, the change and a sparkline of its days."""
    top = _top(counted, "package", start, include_bots, limit)
    if not top:
        return []
    earlier = queries.ranked(
        counted.get("package", {}), "downloads", include_bots, None, before=start
    )
    before = {row["value"]: row["count"] for row in earlier}
    keys = [row["value"] for row in top]
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
