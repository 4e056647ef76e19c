"""Storing a batch of recorded events: enrich, insert, fold rollups, in one transaction.

Exactness under re-delivery rests on one rule: only the rows this
transaction actually inserted are folded into the rollups. A batch
delivered twice, whole or in part, inserts each event once and counts it
once. On PostgreSQL a batch's raw rows are first one COPY straight into the
table, under a savepoint: it succeeds only if every event is new. A batch
holding an event stored already (the copy fails on the key) is loaded into
a temporary staging table instead and inserted from it by `ON CONFLICT DO
NOTHING ... RETURNING id`, which gives the new ones (`insert_raw`).

The rollups and the unique sources of the inserted rows are aggregated
here, in one pass over the batch (a dictionary per batch: cheaper than
making the database group the batch once per dimension), and upserted by
one statement each from their own staging tables, in key order, so that
concurrent consumers lock rollup rows in the same order and cannot
deadlock. A batch costs the same few round trips however large it is. The
SQL is the same on SQLite (embedded mode), which loads the staging tables
with plain inserts (and always inserts raw rows through the staging table).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import orjson
from django.db import IntegrityError, connection, transaction

from . import partitions, summaries
from .enrichment import COLLECT_ALL, Collect, enrich, referer_host
from .models import AnalyticsSettings

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
RAW_NAMES = [name for name, _ in RAW_COLUMNS]
ROLLUP_STAGING = "analytics_staging_rollup"
ROLLUP_KEY = ["organisation_id", "period", "dimension", "bucket", "package", "value"]
ROLLUP_COLUMNS = [
    ("organisation_id", "bigint"),
    ("period", "varchar(4)"),
    ("dimension", "varchar(16)"),
    ("bucket", "timestamptz"),
    ("package", "varchar(200)"),
    ("value", "varchar(255)"),
    ("events", "bigint"),
    ("downloads", "bigint"),
    ("bot_downloads", "bigint"),
    ("position", "integer"),
]
SOURCES_STAGING = "analytics_staging_sources"
SOURCES_COLUMNS = [
    ("organisation_id", "bigint"),
    ("day", "date"),
    ("package", "varchar(200)"),
    ("source_id", "varchar(32)"),
]
# The rollup dimensions and what each counts, as an expression over an
# enriched row (`aggregate` computes them).
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
    events = list(events)
    collect = what_to_collect({event["organisation"] for event in events})
    rows = {}
    for event in events:
        row = enrich(event, collect.get(event["organisation"], COLLECT_ALL))
        rows[row["id"]] = row
    if not rows:
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        partitions.ensure_months(
            date.fromisoformat(f"{day[:7]}-01")
            for day in {row["timestamp"][:10] for row in rows.values()}
        )
        inserted = insert_raw(cursor, [raw_values(row) for row in rows.values()])
        if inserted:
            new = rows.values() if len(inserted) == len(rows) else [rows[i] for i in inserted]
            rollups, sources = aggregate(new)
            summaries.forget(
                cursor,
                {(row["organisation_id"], row["timestamp"][:10]) for row in new},
                datetime.now(UTC).date(),
            )
            upsert_sources(cursor, sources)
            upsert_rollups(cursor, rollups)  # last: its row locks are held until commit
    return len(inserted)


def what_to_collect(organisations: set[int]) -> dict[int, Collect]:
    """The privacy choices of the batch's organisations (one query a batch)."""
    choices = AnalyticsSettings.objects.filter(organisation_id__in=organisations).values_list(
        "organisation_id", "collect_country", "collect_asn", "collect_referer"
    )
    return {org: Collect(country, asn, referer) for org, country, asn, referer in choices}


def raw_values(row: dict[str, Any]) -> tuple[Any, ...]:
    """The raw table's columns of an enriched row; `capture` as JSON text."""
    return _BEFORE_CAPTURE(row) + (dump_json(row["capture"]),) + _AFTER_CAPTURE(row)


CAPTURE = RAW_NAMES.index("capture")
# Item getters (one C call each for what would be a dict lookup per column).
_BEFORE_CAPTURE = itemgetter(*RAW_NAMES[:CAPTURE])
_AFTER_CAPTURE = itemgetter(*RAW_NAMES[CAPTURE + 1 :])


def dump_json(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # e.g. an integer wider than 64 bits
        import json

        return json.dumps(value, separators=(",", ":"))


cached_referer_host = lru_cache(maxsize=10_000)(referer_host)
Counters = dict[tuple, list[int]]


def aggregate(rows: Iterable[dict[str, Any]]) -> tuple[Counters, set[tuple]]:
    """The rollup increments (events, downloads, bot downloads) and the
    (organisation, day, package, source) rows of a batch. Day rows for every
    dimension, hour rows for the total only (hourly breakdowns would double
    the rollup writes for charts nobody draws). A rollup key's bucket is the
    hour's or the day's ISO prefix here (see `upsert_rollups`).

    Rows are grouped by organisation, day and package, each row as the tuple
    of the values it is counted by (`COUNTED`; compact, so counting runs
    over memory the cache holds rather than over the batch's large dicts),
    then each dimension's values are counted per group (C-speed counting of
    strings)."""
    groups: dict[tuple, tuple[list, list, list]] = {}
    sources = set()
    for row in rows:
        timestamp = row["timestamp"]
        key = (row["organisation_id"], timestamp[:10], row["package"])
        group = groups.get(key)
        if group is None:
            group = groups[key] = ([], [], [])
        client = row["client"]
        counted = (  # as COUNTED lists them
            timestamp[:13],
            row["version"],
            client,
            f"{client} {row['client_version']}".strip(" "),
            row["os"],
            row["arch"],
            row["country"],
            row["asn_org"],
            row["domain"],
            cached_referer_host(row["referer"]),
            row["ci"],
        )
        if not row["download"]:
            group[0].append(counted)
        elif row["bot"]:
            group[2].append(counted)
        else:
            group[1].append(counted)
            if row["source_id"]:
                sources.add((*key, row["source_id"]))
    rollups: Counters = {}
    for (organisation, day, package), (others, downloads, bots) in groups.items():
        # Each row is counted once: as an event, and as a download or a bot's.
        for slot, counted in ((0, others), (1, downloads), (2, bots)):
            if not counted:
                continue
            for period, dimension, field in _FIELDS:
                bucket = day if period == "day" else None
                values = Counter(map(field, counted)) if field else {"": len(counted)}
                for value, count in values.items():
                    rollup = (
                        organisation,
                        period,
                        dimension,
                        bucket or value,
                        package,
                        "" if bucket is None else value,
                    )
                    found = rollups.get(rollup)
                    if found is None:
                        found = rollups[rollup] = [0, 0, 0]
                    found[0] += count
                    if slot:
                        found[slot] += count
    return rollups, sources


# What `aggregate` counts a row by: its hour (the hourly total's value),
# then the value of each day dimension but the total.
COUNTED = ["hour", *(dimension for dimension in DIMENSIONS if dimension != "total")]
# (period, dimension, what gives the value of a counted tuple).
_FIELDS = [
    ("hour", "total", itemgetter(COUNTED.index("hour"))),
    *(
        ("day", dimension, itemgetter(COUNTED.index(dimension)) if dimension != "total" else None)
        for dimension in DIMENSIONS
    ),
]


def upsert_rollups(cursor, rollups: Counters) -> None:
    """Add the increments, in key order (concurrent consumers cannot deadlock)."""
    load(
        cursor,
        ROLLUP_STAGING,
        ROLLUP_COLUMNS,
        [
            [
                organisation,
                period,
                dimension,
                f"{bucket}:00:00+00:00" if period == "hour" else f"{bucket}T00:00:00+00:00",
                package,
                value,
                *counts,
                position,
            ]
            for position, ((organisation, period, dimension, bucket, package, value), counts) in (
                enumerate(sorted(rollups.items()))
            )
        ],
    )
    cursor.execute(ROLLUP_SQL)


def upsert_sources(cursor, sources: set[tuple]) -> None:
    """Insert the new ones, in key order (sorted by the database: about one
    row an event, which Python sorts at a higher cost)."""
    if not sources:
        return
    load(cursor, SOURCES_STAGING, SOURCES_COLUMNS, list(sources))
    cursor.execute(SOURCES_SQL)


def load(cursor, table: str, columns: list[tuple[str, str]], rows: list[Sequence[Any]]) -> None:
    """Fill a temporary staging table (created on first use) with `rows`."""
    postgres = connection.vendor == "postgresql"
    definition = ", ".join(f'"{name}" {kind}' for name, kind in columns)
    cursor.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({definition})"
        + (" ON COMMIT DELETE ROWS" if postgres else "")
    )
    cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - left over inside an outer transaction
    if postgres:
        copy(cursor, table, [name for name, _ in columns], rows)
        return
    times = [index for index, (name, _) in enumerate(columns) if name in SQLITE_TIMES]
    cursor.executemany(
        f"INSERT INTO {table} VALUES ({', '.join(['%s'] * len(columns))})",  # noqa: S608
        [_sqlite_row(row, times) for row in rows] if times else rows,
    )


def copy(cursor, table: str, names: list[str], rows: list[Sequence[Any]]) -> None:
    """COPY `rows` into `table` (PostgreSQL); its errors as Django's."""
    columns = ", ".join(f'"{name}"' for name in names)
    statement = f"COPY {table} ({columns}) FROM STDIN"
    with connection.wrap_database_errors, cursor.cursor.copy(statement) as rows_in:
        for row in rows:
            rows_in.write_row(row)


def insert_raw(cursor, values: list[tuple[Any, ...]]) -> list[str]:
    """Insert the events whose id is new; returns their ids.

    A batch is nearly always all new: on PostgreSQL it is copied straight
    into the table, under a savepoint. Should one of its events be stored
    already (a re-delivered batch, or one a concurrent consumer committed
    meanwhile), the key makes the copy fail as a whole and the batch goes
    through the staging table, which inserts the new events only."""
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic():
                copy(cursor, "analytics_downloadevent", RAW_NAMES, values)
            return [row[0] for row in values]  # the id is the first column
        except IntegrityError:
            pass
    load(cursor, STAGING, RAW_COLUMNS, values)
    names = ", ".join(f'"{name}"' for name in RAW_NAMES)
    cursor.execute(
        f"INSERT INTO analytics_downloadevent ({names}) "  # noqa: S608
        f"SELECT {names} FROM {STAGING} WHERE true ON CONFLICT DO NOTHING RETURNING id"
    )
    return [row[0] for row in cursor.fetchall()]


_KEY = ", ".join(ROLLUP_KEY)
ROLLUP_SQL = (
    f"INSERT INTO analytics_rollup ({_KEY}, events, downloads, bot_downloads) "  # noqa: S608
    f"SELECT {_KEY}, events, downloads, bot_downloads FROM {ROLLUP_STAGING} "
    f"WHERE true ORDER BY position ON CONFLICT ({_KEY}) DO UPDATE SET "
    "events = analytics_rollup.events + excluded.events, "
    "downloads = analytics_rollup.downloads + excluded.downloads, "
    "bot_downloads = analytics_rollup.bot_downloads + excluded.bot_downloads"
)
SOURCES_SQL = (
    "INSERT INTO analytics_sourceday (organisation_id, day, package, source_id) "  # noqa: S608
    f"SELECT organisation_id, day, package, source_id FROM {SOURCES_STAGING} "
    "WHERE true ORDER BY organisation_id, day, package, source_id ON CONFLICT DO NOTHING"
)


def _sqlite_row(row: list[Any], times: list[int]) -> list[Any]:
    """Django keeps datetimes in SQLite as naive UTC text ("YYYY-MM-DD HH:MM:SS"):
    the row with its columns at `times` written so."""
    row = list(row)
    for index in times:
        row[index] = row[index].removesuffix("+00:00").replace("T", " ")
    return row


SQLITE_TIMES = {"timestamp", "bucket"}
