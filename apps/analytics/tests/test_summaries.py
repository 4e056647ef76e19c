"""Day summaries: finished days read from them answer exactly what the raw
events and rollups answer; a late event sends its day back to the raw
events; rebuilding from the raw events gives what ingestion derived."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from apps.analytics import summaries
from apps.analytics.models import DaySummary, DownloadEvent, Rollup, SourceDay, SummarisedDay
from apps.analytics.queries import (
    Filters,
    counts,
    time_series,
    top,
    totals,
    unique_sources,
)

from .conftest import IP_DE, IP_FR, IP_JP, ingest, make_event

TODAY = datetime.now(UTC).date()
DOCKER = "docker/27.0.1 go/go1.22 os/linux arch/amd64"
NPM_IN_CI = "npm/10.2.3 node/v20.11.0 linux x64 workspaces/false ci/github-actions"
BOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


def download(days_ago: int, hour: int = 10, version: str = "1.0", **fields) -> dict:
    day = TODAY - timedelta(days=days_ago)
    return make_event(
        timestamp=f"{day.isoformat()}T{hour:02d}:15:00+00:00",
        capture={"kind": "file", "variables": {"version": version, "file": "cli.tgz"}},
        **fields,
    )


def history() -> list[dict]:
    """Eight days of two packages, three versions, clients, countries, CI,
    bots and HEAD requests, today included, and another organisation's."""
    events = []
    for days_ago in range(summaries.LOOKBACK_DAYS + 1):
        events += [
            download(days_ago, 1 + days_ago, "1.0"),
            download(days_ago, 2, "1.0", client_ip=IP_FR, user_agent=DOCKER),
            download(days_ago, 3, "2.0", client_ip=IP_JP, user_agent=NPM_IN_CI),
            download(days_ago, 3, "2.0", user_agent=BOT),
            download(days_ago, 4, "2.0", package="docs", client_ip=IP_FR),
            download(days_ago, 5, "1.0", method="HEAD"),
            download(days_ago, 6, "1.0", organisation=2),
        ]
        if days_ago % 3 == 0:
            events.append(download(days_ago, 23, "3.0", package="docs", client_ip=IP_JP))
    return events


FILTERS = [
    Filters(),
    Filters(version="2.0"),
    Filters(country="FR"),
    Filters(client="docker"),
    Filters(ci=True),
    Filters(ci=False),
]
START, END = TODAY - timedelta(days=summaries.LOOKBACK_DAYS), TODAY


def answers(summarised_only: bool = False) -> list:
    """Every kind of question, asked of all packages and of one, with and
    without each filter (`summarised_only`: those summaries answer)."""
    found = []
    for filters in FILTERS:
        for packages in (None, ["cli"]):
            asked = {"packages": packages, "filters": filters}
            if summarised_only and packages and filters:
                found += [
                    totals(1, START, END, **asked),
                    time_series(1, START, END, breakdown="asn_org", **asked),
                    top(1, "country", START, END, **asked),
                ]
                continue
            found += [
                totals(1, START, END, **asked),
                totals(1, START, END, include_bots=True, **asked),
                unique_sources(1, START, END, "week", packages, filters),
                time_series(1, START, END, **asked),
                time_series(1, START, END, "hour", **asked),
                time_series(1, START, END, "month", metric="events", **asked),
                *(
                    time_series(1, START, END, breakdown=dimension, **asked)
                    for dimension in ("version", "client", "country", "asn_org", "ci")
                ),
                *(
                    top(1, dimension, START, END, **asked)
                    for dimension in ("version", "client_version", "os", "asn_org", "domain")
                ),
            ]
            if packages is None:
                found.append(top(1, "package", START, END, filters=filters))
    return found


@pytest.fixture
def ingested(db, test_mmdb):
    ingest(history())


def test_finished_days_are_summarised_and_answer_as_the_raw_events_do(ingested):
    from_raw_events = answers()

    summarised = summaries.summarise_due(TODAY)

    assert summarised == 7 + 7  # both organisations' finished days, not today
    assert not SummarisedDay.objects.filter(day=TODAY).exists()
    assert answers() == from_raw_events
    assert totals(1, START, END)["unique_sources"] > 0


PAGE_DIMENSIONS = ("total", "hour", "version", "client", "os", "arch", "country", "asn_org")
PAGE_DIMENSIONS += ("ci", "package")


@pytest.mark.parametrize("filters", FILTERS[1:], ids=str)
def test_a_page_of_every_dimension_counts_as_one_read_each_would(ingested, filters):
    """A dashboard page asks every dimension in one read of the raw events
    (today's, or all when nothing is summarised); each dimension read alone
    must count the same, before the days are summarised and after."""
    for summarised in (False, True):
        if summarised:
            summaries.summarise_due(TODAY)
        together = counts(1, START, END, PAGE_DIMENSIONS, filters=filters)
        apart = {d: counts(1, START, END, [d], filters=filters)[d] for d in PAGE_DIMENSIONS}

        assert together == apart
        assert sum(c.events for c in together["version"].values()) > 0


def test_summarised_days_are_read_from_the_summaries_alone(ingested):
    from_raw_events = answers(summarised_only=True)
    summaries.summarise_due(TODAY)

    # Without the finished days' raw events and rollups, only summaries can answer.
    DownloadEvent.objects.filter(
        timestamp__lt=datetime.combine(TODAY, datetime.min.time(), UTC)
    ).delete()
    Rollup.objects.filter(bucket__lt=datetime.combine(TODAY, datetime.min.time(), UTC)).delete()
    SourceDay.objects.filter(day__lt=TODAY).delete()

    assert answers(summarised_only=True) == from_raw_events


def test_a_late_event_sends_its_day_back_to_the_raw_events_until_summarised_again(ingested):
    summaries.summarise_due(TODAY)
    three_days_ago = TODAY - timedelta(days=3)
    before = totals(1, three_days_ago, three_days_ago, filters=Filters(version="2.0"))

    ingest([download(3, 12, "2.0", client_ip=IP_DE)])

    assert not SummarisedDay.objects.filter(organisation_id=1, day=three_days_ago).exists()
    late = totals(1, three_days_ago, three_days_ago, filters=Filters(version="2.0"))
    assert late["downloads"] == before["downloads"] + 1
    assert summaries.summarise_due(TODAY) == 1
    assert totals(1, three_days_ago, three_days_ago, filters=Filters(version="2.0")) == late


def derived() -> dict:
    """Every row of every derived table, ids left out."""
    return {
        model.__name__: sorted(
            model.objects.values_list(
                *(f.attname for f in model._meta.concrete_fields if f.attname != "id")
            )
        )
        for model in (Rollup, SourceDay, DaySummary, SummarisedDay)
    }


def test_a_rebuild_from_the_raw_events_derives_what_ingestion_did(ingested):
    """The benchmark's loader derives its tables with this rebuild: this is
    its check against real ingestion."""
    summaries.summarise_due(TODAY)
    incremental = derived()
    Rollup.objects.filter(dimension="version").update(downloads=99)
    SourceDay.objects.filter(package="docs").delete()
    DaySummary.objects.filter(filter="country").delete()

    call_command("rebuild_analytics", start=START - timedelta(days=1))

    rebuilt = derived()
    for name, rows in incremental.items():
        assert set(rebuilt[name]) ^ set(rows) == set(), name
    assert len(incremental["SummarisedDay"]) == 14


def test_rebuild_keeps_the_rollups_of_days_without_raw_events(ingested):
    old = datetime.combine(START, datetime.min.time(), UTC)
    DownloadEvent.objects.filter(timestamp__lt=old + timedelta(days=1)).delete()
    kept = Rollup.objects.filter(bucket__lt=old + timedelta(days=1)).count()

    call_command("rebuild_analytics", start=START - timedelta(days=5))

    assert kept > 0
    assert Rollup.objects.filter(bucket__lt=old + timedelta(days=1)).count() == kept


def test_two_filters_at_once_are_counted_from_the_raw_events(ingested):
    summaries.summarise_due(TODAY)

    both = totals(1, START, END, filters=Filters(version="2.0", country="FR"))

    assert both["downloads"] == 8  # docs 2.0 from France, every day
