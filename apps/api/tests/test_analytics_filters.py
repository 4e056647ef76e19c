"""The analytics API narrowed by version, client, country and CI: every
endpoint takes the same filters, read through the dashboard's query code."""

import csv
import io
from datetime import UTC, datetime

import pytest

from apps.analytics.tests.conftest import ingest_mixed_downloads

from .test_schema import operations

TODAY = datetime.now(UTC).date()
ENDPOINTS = ["time-series/", "top/", "totals/", "unique-sources/", "export.csv", "export.ndjson"]


@pytest.fixture
def events(acme, test_mmdb):
    ingest_mixed_downloads(acme)


def get(api, path: str, **params):
    response = api.get(f"/api/v1/analytics/{path}", params)
    assert response.status_code == 200, response.content
    return response


def counts(response) -> dict:
    return {row["value"]: row["count"] for row in response.json()["results"]}


def test_totals_count_the_filtered_downloads_only(read_api, events):
    assert get(read_api, "totals/", version="1.0").json()["downloads"] == 2
    assert get(read_api, "totals/", version="2.0", client="curl").json()["downloads"] == 1
    assert get(read_api, "totals/", country="fr").json()["downloads"] == 1


def test_a_breakdown_of_filtered_counts_crosses_dimensions(read_api, events):
    by_country = get(read_api, "time-series/", version="1.0", breakdown="country")
    by_client = get(read_api, "top/", dimension="client_version", version="1.0")

    assert counts(by_country) == {"DE": 1, "FR": 1}
    assert counts(by_client) == {"curl 8.5.0": 1, "docker 27.0.1": 1}


def test_ci_true_and_false_split_the_downloads(read_api, events):
    in_ci = get(read_api, "top/", dimension="ci", ci="true")
    not_ci = get(read_api, "totals/", ci="false")

    assert counts(in_ci) == {"github-actions": 1}
    assert not_ci.json()["downloads"] == 3


def test_bots_follow_include_bots_under_filters_too(read_api, events):
    answer = get(read_api, "totals/", version="2.0", include_bots="true").json()

    assert (answer["downloads"], answer["bot_downloads"]) == (3, 1)


def test_unique_sources_are_counted_among_the_filtered_downloads(read_api, events):
    sources = get(read_api, "unique-sources/", country="FR").json()["results"]

    assert sources == [{"period": str(TODAY), "count": 1}]


def test_exports_keep_the_filtered_events_and_leave_bots_out_when_asked(read_api, events):
    every = get(read_api, "export.csv", version="2.0")
    humans = get(read_api, "export.csv", version="2.0", include_bots="false")

    def clients(response):
        text = b"".join(response.streaming_content).decode()
        return sorted(row["client"] for row in csv.DictReader(io.StringIO(text)))

    assert clients(every) == ["curl", "googlebot", "npm"]
    assert clients(humans) == ["curl", "npm"]


def test_the_referer_cannot_break_down_filtered_counts(read_api, events):
    response = read_api.get("/api/v1/analytics/top/", {"dimension": "referer", "version": "1.0"})

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["dimension"]


@pytest.mark.parametrize(
    ("params", "field"), [({"country": "DEU"}, "country"), ({"ci": "maybe"}, "ci")]
)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_bad_filter_is_refused_naming_it(read_api, path, params, field):
    response = read_api.get(f"/api/v1/analytics/{path}", params)

    assert response.status_code == 400
    assert field in [error["field"] for error in response.json()["errors"]]


def test_the_schema_documents_the_filters_on_every_analytics_operation(client, db):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    analytics = {
        name: {parameter["name"] for parameter in operation.get("parameters", [])}
        for name, operation in operations(schema)
        if "/analytics/" in name
    }
    assert len(analytics) == len(ENDPOINTS)
    for name, parameters in analytics.items():
        assert {"version", "client", "country", "ci"} <= parameters, name
