"""Time series, top-N, totals and unique sources, read from the rollups."""

from datetime import date

import pytest

from apps.analytics.queries import time_series, top, totals, unique_sources

from .conftest import IP_DE, IP_FR, ingest, make_event


def on(day: str, **fields) -> dict:
    return make_event(timestamp=f"{day}T10:30:00+00:00", **fields)


def cli(version: str) -> dict:
    return {"kind": "file", "variables": {"version": version, "file": "cli.tgz"}}


@pytest.fixture
def history(db):
    ingest(
        [
            on("2026-10-30", capture=cli("1.0")),
            on("2026-11-02", capture=cli("1.0")),
            on("2026-11-02", capture=cli("1.1"), client_ip=IP_FR),
            on("2026-11-03", capture=cli("1.1"), user_agent="Wget/1.21.3"),
            on("2026-11-03", package="docs", method="HEAD"),
            on("2026-11-10", package="docs", capture=cli("2.0")),
        ]
    )


def test_a_daily_series_counts_downloads_per_day(history):
    series = time_series(1, date(2026, 11, 1), date(2026, 11, 30))

    assert [(row["period"].date(), row["count"]) for row in series] == [
        (date(2026, 11, 2), 2),
        (date(2026, 11, 3), 1),
        (date(2026, 11, 10), 1),
    ]


def test_weekly_and_monthly_series_add_up_the_days(history):
    weekly = time_series(1, date(2026, 10, 1), date(2026, 11, 30), interval="week")
    monthly = time_series(1, date(2026, 10, 1), date(2026, 11, 30), interval="month")

    assert [(row["period"].date(), row["count"]) for row in weekly] == [
        (date(2026, 10, 26), 1),
        (date(2026, 11, 2), 3),
        (date(2026, 11, 9), 1),
    ]
    assert [(row["period"].date(), row["count"]) for row in monthly] == [
        (date(2026, 10, 1), 1),
        (date(2026, 11, 1), 4),
    ]


def test_a_series_breaks_down_by_a_dimension_and_filters_by_package(history):
    series = time_series(
        1, date(2026, 11, 1), date(2026, 11, 30), breakdown="version", packages=["cli"]
    )

    assert [(row["period"].day, row["value"], row["count"]) for row in series] == [
        (2, "1.0", 1),
        (2, "1.1", 1),
        (3, "1.1", 1),
    ]


def test_events_can_be_counted_instead_of_downloads(history):
    series = time_series(1, date(2026, 11, 3), date(2026, 11, 3), metric="events")

    assert series[0]["count"] == 2


def test_top_ranks_values_by_count_and_stops_at_the_limit(history):
    versions = top(1, "version", date(2026, 10, 1), date(2026, 11, 30), limit=2)
    packages = top(1, "package", date(2026, 10, 1), date(2026, 11, 30))

    assert versions == [{"value": "1.0", "count": 2}, {"value": "1.1", "count": 2}]
    assert packages == [{"value": "cli", "count": 4}, {"value": "docs", "count": 1}]


def test_totals_sum_the_range(history):
    result = totals(1, date(2026, 11, 1), date(2026, 11, 30))

    assert result == {"events": 5, "downloads": 4, "bot_downloads": 0, "unique_sources": 4}


def test_a_source_is_counted_once_per_day_across_packages(db):
    ingest(
        [
            on("2026-11-02"),
            on("2026-11-02"),
            on("2026-11-02", package="docs"),
            on("2026-11-02", client_ip=IP_FR),
            on("2026-11-03", client_ip=IP_DE),
        ]
    )

    daily = unique_sources(1, date(2026, 11, 1), date(2026, 11, 30))
    cli_only = unique_sources(1, date(2026, 11, 2), date(2026, 11, 2), packages=["docs"])

    assert [(row["period"], row["count"]) for row in daily] == [
        (date(2026, 11, 2), 2),
        (date(2026, 11, 3), 1),
    ]
    assert cli_only == [{"period": date(2026, 11, 2), "count": 1}]


@pytest.mark.parametrize(
    "call",
    [
        lambda: time_series(1, date(2026, 1, 1), date(2026, 1, 2), interval="year"),
        lambda: time_series(1, date(2026, 1, 1), date(2026, 1, 2), breakdown="colour"),
        lambda: time_series(1, date(2026, 1, 1), date(2026, 1, 2), "hour", "version"),
        lambda: top(1, "colour", date(2026, 1, 1), date(2026, 1, 2)),
    ],
)
def test_unknown_intervals_and_dimensions_are_refused(db, call):
    with pytest.raises(ValueError, match="must be|no breakdown"):
        call()
