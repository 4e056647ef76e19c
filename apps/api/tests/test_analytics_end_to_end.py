"""Issue 6's promise, asked of the API: real requests through the real
gateway, ingested by the real Celery worker, and a read token gets exactly
the expected counts per version, client, country and day, and exports every
event exactly once.

The requests and the `counted` fixture (which sends them for `acme`) are the
analytics end-to-end test's, so both tests count the same traffic: that one
through the query functions, this one through HTTP."""

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from apps.analytics.models import DownloadEvent
from apps.analytics.tests.test_counting_end_to_end import REQUESTS, counted, expected  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("counted")]


def ask(client, path: str, **params):
    response = client.get(f"/api/v1/analytics/{path}", params)
    assert response.status_code == 200, response.content
    return response


def by_value(client, path: str, **params) -> dict:
    return {row["value"]: row["count"] for row in ask(client, path, **params).json()["results"]}


def test_a_read_token_gets_exact_downloads_per_version_client_and_country(read_api):
    assert by_value(read_api, "top/", dimension="package") == dict(expected(0))
    assert by_value(read_api, "time-series/", breakdown="version") == dict(expected(1))
    assert by_value(read_api, "top/", dimension="client") == {"docker": 6, "pip": 3, "curl": 5}
    assert by_value(read_api, "top/", dimension="country") == {"DE": 4, "FR": 5, "JP": 5}


def test_a_read_token_gets_exact_events_and_downloads_per_day(read_api):
    today = str(datetime.now(UTC).date())

    days = ask(read_api, "time-series/", start=today, end=today).json()["results"]
    totals = ask(read_api, "totals/").json()

    assert days == [{"period": f"{today}T00:00:00Z", "count": 14}]
    assert totals["events"] == sum(request[4] for request in REQUESTS)
    assert totals["downloads"] == sum(expected(0).values()) == 14
    assert totals["bot_downloads"] == 2


def test_both_exports_hold_every_event_exactly_once(read_api, acme):
    csv_body = b"".join(ask(read_api, "export.csv").streaming_content).decode()
    ndjson_body = b"".join(ask(read_api, "export.ndjson").streaming_content).decode()

    from_csv = list(csv.DictReader(io.StringIO(csv_body)))
    from_ndjson = [json.loads(line) for line in ndjson_body.splitlines()]
    sent = Counter()
    for method, path, user_agent, _, repeats, _ in REQUESTS:
        sent[method, path, user_agent] += repeats

    stored = set(DownloadEvent.objects.filter(organisation_id=acme.id).values_list("id", flat=True))
    for exported in (from_csv, from_ndjson):
        ids = [event["id"] for event in exported]
        assert len(ids) == len(set(ids)) == sum(sent.values())
        assert set(ids) == stored
        assert Counter((e["method"], e["path"], e["user_agent"]) for e in exported) == sent
