"""The analytics API: counts, filters, defaults, exports, who may read, and
bad parameters refused naming the parameter."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.accounts.models import Membership
from apps.analytics.tests.conftest import IP_DE, IP_FR, IP_JP, ingest, make_event

from .conftest import api_client, join

TODAY = datetime.now(UTC).date()
GOOGLEBOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


def at(days_ago: int) -> str:
    return f"{TODAY - timedelta(days=days_ago)}T10:00:00+00:00"


def download(acme, days_ago: int, package: str = "cli", version: str = "1.0", **fields) -> dict:
    """A curl download of `package` `version`, `days_ago` days ago."""
    return make_event(
        organisation=acme.id,
        timestamp=at(days_ago),
        package=package,
        path=f"/{package}/{version}/{package}.tgz",
        capture={"kind": "file", "variables": {"version": version, "file": f"{package}.tgz"}},
        **fields,
    )


@pytest.fixture
def events(acme, test_mmdb):
    """Four downloads in the last 30 days, one before them, and one by a bot."""
    ingest(
        [
            download(acme, 0, client_ip=IP_DE),
            download(acme, 0, client_ip=IP_DE),
            download(acme, 0, version="2.0", client_ip=IP_FR),
            download(acme, 3, package="docs", client_ip=IP_JP),
            download(acme, 40),
            download(acme, 0, user_agent=GOOGLEBOT),
        ]
    )


def get(client, path: str, **params):
    response = client.get(f"/api/v1/analytics/{path}", params)
    assert response.status_code == 200, response.content
    return response


def counts(response, key: str = "value") -> dict:
    return {str(row[key]): row["count"] for row in response.json()["results"]}


def test_totals_cover_the_last_30_days_by_default(read_api, events):
    answer = get(read_api, "totals/").json()

    assert answer == {
        "start": str(TODAY - timedelta(days=29)),
        "end": str(TODAY),
        "events": 5,
        "downloads": 4,
        "bot_downloads": 1,
        "unique_sources": 3,
    }


def test_a_range_reaches_further_back(read_api, events):
    answer = get(read_api, "totals/", start=str(TODAY - timedelta(days=40))).json()

    assert answer["downloads"] == 5


def test_the_widest_range_accepted_is_answered_in_queries_sqlite_can_run(read_api, events):
    """A thousand years are 365,243 days; SQLite (`make run`) refuses a query
    of more than 32,766 parameters, so none may have one per day."""
    widest = {"start": "2000-01-01", "end": "2999-12-31"}
    parameters: list[int] = []

    def count_parameters(execute, sql, params, many, context):
        parameters.append(len(params or ()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count_parameters):
        totals = get(read_api, "totals/", **widest).json()
        series = get(read_api, "time-series/", interval="month", **widest)
        sources = get(read_api, "unique-sources/", interval="month", **widest)

    assert (totals["downloads"], totals["unique_sources"]) == (5, 4)
    assert sum(counts(series, "period").values()) == 5
    assert sum(counts(sources, "period").values()) == 4
    assert max(parameters) < 999


def test_the_time_series_counts_per_day_and_per_value_of_a_breakdown(read_api, events):
    days = get(read_api, "time-series/")
    versions = get(read_api, "time-series/", breakdown="version", interval="month")

    assert counts(days, "period") == {
        f"{TODAY - timedelta(days=3)}T00:00:00Z": 1,
        f"{TODAY}T00:00:00Z": 3,
    }
    assert sum(counts(versions).values()) == 4
    assert {row["value"] for row in versions.json()["results"]} == {"1.0", "2.0"}


def test_events_and_bots_are_counted_when_asked(read_api, events):
    with_bots = get(read_api, "time-series/", start=str(TODAY), include_bots="true")
    events_only = get(read_api, "top/", start=str(TODAY), metric="events")

    assert counts(with_bots, "period") == {f"{TODAY}T00:00:00Z": 4}
    assert counts(events_only) == {"cli": 4}


def test_top_ranks_packages_by_default_and_any_dimension_when_asked(read_api, events):
    assert counts(get(read_api, "top/")) == {"cli": 3, "docs": 1}
    assert counts(get(read_api, "top/", dimension="country")) == {"DE": 2, "FR": 1, "JP": 1}
    assert counts(get(read_api, "top/", dimension="country", limit=1)) == {"DE": 2}


def test_the_package_filter_takes_keys_and_repeats(read_api, events):
    docs = get(read_api, "totals/", package="docs").json()
    both = get(read_api, "top/", package=["docs", "cli"])
    unknown = get(read_api, "time-series/", package="no-such-package")

    assert docs["downloads"] == 1
    assert counts(both) == {"cli": 3, "docs": 1}
    assert unknown.json()["results"] == []


def test_unique_sources_are_counted_per_day_and_summed_per_week(read_api, events):
    daily = get(read_api, "unique-sources/")
    weekly = get(read_api, "unique-sources/", interval="week")

    assert counts(daily, "period") == {str(TODAY - timedelta(days=3)): 1, str(TODAY): 2}
    assert sum(counts(weekly, "period").values()) == 3


def test_the_csv_export_streams_every_event_of_the_range_with_a_filename(read_api, acme, events):
    response = get(read_api, "export.csv")

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="analytics-{acme.slug}-{TODAY - timedelta(days=29)}-{TODAY}.csv"'
    )
    assert sorted(row["package"] for row in rows) == ["cli", "cli", "cli", "cli", "docs"]
    assert {row["country"] for row in rows} == {"DE", "FR", "JP"}


def test_the_ndjson_export_streams_one_object_per_event_filtered_by_package(read_api, events):
    response = get(read_api, "export.ndjson", package="docs", start=str(TODAY - timedelta(days=3)))

    lines = b"".join(response.streaming_content).decode().splitlines()

    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].endswith(f'-{TODAY}.ndjson"')
    assert [json.loads(line)["package"] for line in lines] == ["docs"]


def test_an_export_asked_for_as_csv_still_explains_bad_input_in_json(read_api, events):
    response = read_api.get(
        "/api/v1/analytics/export.csv", {"start": "yesterday"}, HTTP_ACCEPT="text/csv"
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "start"


def test_a_member_signed_in_reads_analytics(acme, events):
    member = join(acme, "grace@example.com", Membership.MEMBER)
    client = api_client()
    client.force_login(member)

    assert get(client, "totals/").json()["downloads"] == 4


def test_analytics_need_credentials(events):
    response = api_client().get("/api/v1/analytics/totals/")

    assert response.status_code in (401, 403)
    assert "downloads" not in response.content.decode()


BAD = [
    ("time-series/", {"interval": "fortnight"}, "interval"),
    ("time-series/", {"breakdown": "colour"}, "breakdown"),
    ("time-series/", {"interval": "hour", "breakdown": "version"}, "breakdown"),
    ("time-series/", {"metric": "bytes"}, "metric"),
    ("time-series/", {"start": "2026-13-01"}, "start"),
    ("time-series/", {"end": "last tuesday"}, "end"),
    ("time-series/", {"start": "2026-11-20", "end": "2026-11-10"}, "start"),
    ("time-series/", {"start": "0001-01-01"}, "start"),
    ("totals/", {"include_bots": "perhaps"}, "include_bots"),
    ("top/", {"dimension": "colour"}, "dimension"),
    ("top/", {"limit": "0"}, "limit"),
    ("top/", {"limit": "1000"}, "limit"),
    ("unique-sources/", {"interval": "hour"}, "interval"),
    ("export.ndjson", {"end": "9999-12-31"}, "end"),
    ("totals/", {"package": ["cli", "a\x00"]}, "package[1]"),
]


@pytest.mark.parametrize(("path", "params", "field"), BAD)
def test_a_bad_parameter_is_refused_with_a_400_naming_it(read_api, path, params, field):
    response = read_api.get(f"/api/v1/analytics/{path}", params)

    assert response.status_code == 400, response.content
    assert field in [error["field"] for error in response.json()["errors"]]
