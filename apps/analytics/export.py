"""Raw event export as CSV or NDJSON, streamed in constant memory.

Both are generators of text chunks, ready for a StreamingHttpResponse: rows
come from a server-side cursor in chunks, never as one list. Exported rows
are what is stored: enriched, and without any client IP; in CSV, a text
that a spreadsheet would take for a formula starts with a quote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import QuerySet

from .queries import ANY, Filters, raw_events

FIELDS = [
    "id",
    "timestamp",
    "domain",
    "package",
    "rule_type",
    "method",
    "path",
    "status",
    "target",
    "download",
    "version",
    "client",
    "client_version",
    "os",
    "arch",
    "ci",
    "bot",
    "country",
    "asn_org",
    "source_id",
    "user_agent",
    "referer",
    "dnt",
    "gpc",
    "capture",
]
CHUNK = 2000
# Whoever downloads chooses the path, user agent and referer: a CSV cell
# starting like a formula would run as one in a spreadsheet, so it is
# written as text, after a quote (OWASP's "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_csv(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None = None,
    filters: Filters = ANY,
    include_bots: bool = True,
) -> Iterator[str]:
    """A header line, then one line per event, oldest first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(FIELDS)
    for row in _rows(organisation_id, start, end, packages, filters, include_bots):
        writer.writerow([_csv_value(value) for value in row.values()])
        yield _drain(buffer)
    yield _drain(buffer)


def export_ndjson(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None = None,
    filters: Filters = ANY,
    include_bots: bool = True,
) -> Iterator[str]:
    """One JSON object per line, oldest first."""
    for row in _rows(organisation_id, start, end, packages, filters, include_bots):
        yield json.dumps(row, default=_iso) + "\n"


def _rows(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None,
    filters: Filters,
    include_bots: bool,
) -> Iterator[dict]:
    """The events `filters` keep (without known bots' unless `include_bots`).

    Read in a transaction: outside one, a server-side cursor is declared
    WITH HOLD, which PostgreSQL fills with the whole result before the first
    row. In the order of the (organisation, timestamp) index, never sorted,
    so the first rows stream out at once whatever the range's size."""
    events = _events(organisation_id, start, end, packages, filters, include_bots)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("SET LOCAL jit = off")
        yield from events.iterator(chunk_size=CHUNK)


def _events(
    organisation_id: int,
    start: date,
    end: date,
    packages: Sequence[str] | None,
    filters: Filters,
    include_bots: bool,
) -> QuerySet:
    events = raw_events(organisation_id, start, end, packages, filters)
    if not include_bots:
        events = events.filter(bot=False)
    return events.order_by("timestamp").values(*FIELDS)


def _drain(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _iso(value: datetime) -> str:
    return value.isoformat()


def _csv_value(value):
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
