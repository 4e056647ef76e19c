"""Analytics shaped for pages: what the query functions return, per day and
per breakdown, with the gaps a chart needs filled."""

from __future__ import annotations

from datetime import date, timedelta
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
    sources = queries.unique_sources(organisation_id, start, end, interval, packages, filters)
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
    labels = [row["period"].date().isoformat() for row in series]
    sources_by_period = {row["period"].isoformat(): row["count"] for row in sources}
    return {
        "totals": queries.totals(organisation_id, start, end, **counting),
        "series": {
            "labels": labels,
            "downloads": [row["count"] for row in series],
            "sources": [sources_by_period.get(label, 0) for label in labels],
        },
        "breakdowns": breakdowns,
    }
