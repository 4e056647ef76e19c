"""Raw events exported as CSV and NDJSON, streamed."""

import csv
import io
import json
import types
from datetime import date

import pytest

from apps.analytics.export import FIELDS, export_csv, export_ndjson

from .conftest import IP_DE, ingest, make_event


@pytest.fixture
def events(db, test_mmdb):
    ingest(
        [
            make_event(timestamp="2026-11-02T10:00:00+00:00", client_ip=IP_DE),
            make_event(timestamp="2026-11-03T10:00:00+00:00", package="docs"),
            make_event(timestamp="2026-12-01T10:00:00+00:00"),
        ]
    )


def test_csv_has_a_header_and_one_line_per_event_in_the_range(events):
    chunks = export_csv(1, date(2026, 11, 1), date(2026, 11, 30))

    rows = list(csv.DictReader(io.StringIO("".join(chunks))))

    assert isinstance(chunks, types.GeneratorType)
    assert [row["package"] for row in rows] == ["cli", "docs"]
    assert rows[0]["country"] == "DE"
    assert rows[0]["timestamp"] == "2026-11-02T10:00:00+00:00"
    assert json.loads(rows[0]["capture"])["variables"]["version"] == "1.0"


def test_csv_cells_a_downloader_chose_never_start_a_spreadsheet_formula(db, test_mmdb):
    formula = '=HYPERLINK("http://evil.example","x")'
    ingest(
        [
            make_event(
                timestamp="2026-11-02T10:00:00+00:00",
                path=f"/cli/{formula}/cli.tgz",
                user_agent="@SUM(1+1)*cmd|' /C calc'!A0",
                referer="+1+1",
            )
        ]
    )

    csv_text = "".join(export_csv(1, date(2026, 11, 1), date(2026, 11, 30)))
    [row] = csv.DictReader(io.StringIO(csv_text))
    [event] = map(json.loads, export_ndjson(1, date(2026, 11, 1), date(2026, 11, 30)))

    assert row["user_agent"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert row["referer"] == "'+1+1"
    assert row["path"] == f"/cli/{formula}/cli.tgz"
    assert row["status"] == "307"
    assert (event["user_agent"], event["referer"]) == ("@SUM(1+1)*cmd|' /C calc'!A0", "+1+1")


def test_ndjson_has_one_object_per_line_and_filters_by_package(events):
    lines = list(export_ndjson(1, date(2026, 11, 1), date(2026, 12, 31), packages=["cli"]))

    objects = [json.loads(line) for line in lines]

    assert [item["timestamp"][:10] for item in objects] == ["2026-11-02", "2026-12-01"]
    assert list(objects[0]) == FIELDS
    assert IP_DE not in "".join(lines)


def test_exports_stream_in_index_order_without_sorting_the_range(events):
    from django.db import connection

    from apps.analytics.export import _events
    from apps.analytics.queries import ANY

    with connection.cursor() as cursor:
        # Whatever the planner would prefer for a table this small, the
        # order must be available without a sort.
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
    # Two months: two partitions, merged in order.
    plan = _events(1, date(2026, 11, 1), date(2026, 12, 31), None, ANY, False).explain()

    assert "Sort" not in plan, plan
    assert "organisation_id_timestamp_idx" in plan, plan
