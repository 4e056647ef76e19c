"""Storing a batch of recorded events: enrich, insert, fold rollups, in one transaction.

Exactness under re-delivery rests on one rule: only the rows this
transaction actually inserted (`ON CONFLICT DO NOTHING ... RETURNING id`)
are folded into the rollups. A batch delivered twice, whole or in part,
inserts each event once and counts it once.

The batch is first loaded into a temporary staging table (PostgreSQL: one
COPY), then every table is written by one set-based statement from it: the
raw rows, the rollups (aggregated by the database, one upsert for every
dimension and period) and the unique sources. A batch costs the same few
round trips however large it is. The SQL is the same on SQLite (embedded
mode), which loads the staging table with plain inserts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from typing import Any

from django.db import connection, transaction

from . import partitions
from .enrichment import enrich, referer_host

STAGING = "analytics_staging"
RAW_COLUMNS = [
    ("id", "varchar(36)"),
    ("timestamp", "timestamptz"),
    ("organisation_id", "bigint"),
    ("domain", "varchar(253)"),
    ("rule_id", "bigint"),
    ("rule_type", "varchar(30)"),
    ("package", "varchar(200)"),
    ("method", "varchar(16)"),
    ("path", "text"),
    ("status", "integer"),
    ("target", "text"),
    ("capture", "jsonb"),
    ("user_agent", "text"),
    ("referer", "text"),
    ("dnt", "boolean"),
    ("gpc", "boolean"),
    ("download", "boolean"),
    ("version", "varchar(200)"),
    ("client", "varchar(50)"),
    ("client_version", "varchar(50)"),
    ("os", "varchar(50)"),
    ("arch", "varchar(20)"),
    ("ci", "varchar(50)"),
    ("bot", "boolean"),
    ("country", "varchar(2)"),
    ("asn_org", "varchar(200)"),
    ("source_id", "varchar(32)"),
]
# Staging only: the row's hour and day buckets, its UTC date, its referer's host.
BUCKET_COLUMNS = [
    ("hour", "timestamptz"),
    ("day", "timestamptz"),
    ("date", "date"),
    ("referer_host", "varchar(253)"),
]
STAGING_COLUMNS = RAW_COLUMNS + BUCKET_COLUMNS
# Each rollup dimension as an expression over a staging row.
DIMENSIONS = {
    "total": "''",
    "version": "version",
    "client": "client",
    "client_version": "TRIM(client || ' ' || client_version)",
    "os": "os",
    "arch": "arch",
    "country": "country",
    "asn_org": "asn_org",
    "domain": "domain",
    "referer": "referer_host",
    "ci": "ci",
}


def store_events(events: Iterable[dict[str, Any]]) -> int:
    """Store recorded events exactly once; returns how many were new."""
    rows = list({row["id"]: row for row in map(staging_row, events)}.values())
    if not rows:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        partitions.ensure_months(
            date.fromisoformat(f"{day[:7]}-01") for day in {row["date"] for row in rows}
        )
        load_staging(cursor, rows)
        inserted = insert_raw(cursor)
        if len(inserted) < len(rows):
            forget_duplicates(cursor, [row["id"] for row in rows if row["id"] not in inserted])
        if inserted:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL work_mem = '64MB'")  # aggregate in memory
            cursor.execute(ROLLUP_SQL)
            cursor.execute(SOURCES_SQL)
    return len(inserted)


def staging_row(event: dict[str, Any]) -> dict[str, Any]:
    """An enriched event with its buckets; times stay UTC ISO text, which is
    what COPY takes fastest."""
    row = enrich(event)
    timestamp = row["timestamp"]
    row.update(
        hour=f"{timestamp[:13]}:00:00+00:00",
        day=f"{timestamp[:10]}T00:00:00+00:00",
        date=timestamp[:10],
        referer_host=cached_referer_host(row["referer"]),
        capture=json.dumps(row["capture"], separators=(",", ":")),
    )
    return row


cached_referer_host = lru_cache(maxsize=10_000)(referer_host)


def load_staging(cursor, rows: list[dict[str, Any]]) -> None:
    names = [name for name, _ in STAGING_COLUMNS]
    columns = ", ".join(f'"{name}" {kind}' for name, kind in STAGING_COLUMNS)
    postgres = connection.vendor == "postgresql"
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} ({columns})"
        + (" ON COMMIT DELETE ROWS" if postgres else "")
    )
    cursor.execute(f"DELETE FROM {STAGING}")  # noqa: S608 - left over inside an outer transaction
    if postgres:
        with cursor.cursor.copy(f"COPY {STAGING} FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[name] for name in names])
        return
    cursor.executemany(
        f"INSERT INTO {STAGING} VALUES ({', '.join(['%s'] * len(names))})",  # noqa: S608
        [[_sqlite_value(name, row[name]) for name in names] for row in rows],
    )


def insert_raw(cursor) -> set[str]:
    """Insert the staged events whose id is new; returns their ids."""
    names = ", ".join(f'"{name}"' for name, _ in RAW_COLUMNS)
    cursor.execute(
        f"INSERT INTO analytics_downloadevent ({names}) "  # noqa: S608
        f"SELECT {names} FROM {STAGING} WHERE true ON CONFLICT DO NOTHING RETURNING id"
    )
    return {row[0] for row in cursor.fetchall()}


def forget_duplicates(cursor, ids: list[str]) -> None:
    """Drop re-delivered events from staging so the rollups skip them."""
    cursor.executemany(f"DELETE FROM {STAGING} WHERE id = %s", [[i] for i in ids])  # noqa: S608


def _rollup_sql() -> str:
    """Day rows for every dimension, hour rows for the total only (hourly
    breakdowns would double the rollup writes for charts nobody draws)."""
    facts = " UNION ALL ".join(
        [
            f"SELECT organisation_id, 'hour' AS period, 'total' AS dimension, hour AS bucket, "  # noqa: S608 - constants
            f"package, '' AS value, download, bot FROM {STAGING}",
            *(
                f"SELECT organisation_id, 'day', '{dimension}', day, package, {expression}, "  # noqa: S608
                f"download, bot FROM {STAGING}"
                for dimension, expression in DIMENSIONS.items()
            ),
        ]
    )
    key = "organisation_id, period, dimension, bucket, package, value"
    return (
        f"INSERT INTO analytics_rollup ({key}, events, downloads, bot_downloads) "  # noqa: S608
        f"SELECT {key}, COUNT(*), SUM(CASE WHEN download AND NOT bot THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN download AND bot THEN 1 ELSE 0 END) "
        f"FROM ({facts}) AS f WHERE true GROUP BY {key} ORDER BY {key} "
        f"ON CONFLICT ({key}) DO UPDATE SET "
        "events = analytics_rollup.events + excluded.events, "
        "downloads = analytics_rollup.downloads + excluded.downloads, "
        "bot_downloads = analytics_rollup.bot_downloads + excluded.bot_downloads"
    )


# Rows are upserted in key order, so concurrent consumers lock rollup rows in
# the same order and cannot deadlock.
ROLLUP_SQL = _rollup_sql()
SOURCES_SQL = (
    "INSERT INTO analytics_sourceday (organisation_id, day, package, source_id) "  # noqa: S608
    f"SELECT DISTINCT organisation_id, date, package, source_id FROM {STAGING} "
    "WHERE source_id <> '' AND download AND NOT bot ORDER BY 1, 2, 3, 4 ON CONFLICT DO NOTHING"
)


def _sqlite_value(name: str, value: Any) -> Any:
    """Django keeps datetimes in SQLite as naive UTC text ("YYYY-MM-DD HH:MM:SS")."""
    if name in SQLITE_TIMES:
        return value.removesuffix("+00:00").replace("T", " ")
    return value


SQLITE_TIMES = {"timestamp", "hour", "day"}
