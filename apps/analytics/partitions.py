"""Monthly partitions of the raw events table (PostgreSQL only).

One partition per calendar month (UTC) of `timestamp`, named
`analytics_downloadevent_YYYYMM`. There is no default partition: ingestion
creates the partition of any month it is about to write (`ensure_months`),
and a daily task creates the coming months ahead of time, so inserts never
wait on DDL in the common case. Retention drops whole partitions once every
organisation's retention has passed them.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from django.db import connection

TABLE = "analytics_downloadevent"


def is_partitioned() -> bool:
    return connection.vendor == "postgresql"


def month_start(moment: date) -> date:
    return date(moment.year, moment.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


PARTITION_LOCK = 0x5CA4F_0001  # advisory lock key: creating event partitions


def partition_name(month: date) -> str:
    return f"{TABLE}_{month:%Y%m}"


def ensure_months(months: Iterable[date]) -> None:
    """Create the partitions of `months` (first days) that do not exist yet."""
    if not is_partitioned():
        return
    with connection.cursor() as cursor:
        for month in sorted(set(months)):
            name = partition_name(month)
            cursor.execute("SELECT to_regclass(%s)", [name])
            if cursor.fetchone()[0] is None:
                # Consumers may meet a new month together; IF NOT EXISTS is not
                # safe against a concurrent CREATE, so take turns (until commit).
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [PARTITION_LOCK])
                cursor.execute(
                    f'CREATE TABLE IF NOT EXISTS "{name}" PARTITION OF {TABLE} '  # noqa: S608
                    "FOR VALUES FROM (%s) TO (%s)",
                    [_utc(month), _utc(next_month(month))],
                )


def ensure_ahead(today: date, months_ahead: int) -> None:
    """Create this month's partition and the next `months_ahead` ones."""
    month = month_start(today)
    months = [month]
    for _ in range(months_ahead):
        month = next_month(month)
        months.append(month)
    ensure_months(months)


def existing_months() -> list[date]:
    if not is_partitioned():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    return sorted(datetime.strptime(name[-6:], "%Y%m").date() for name in names)  # noqa: DTZ007


def drop_months_before(cutoff: datetime) -> list[date]:
    """Drop the partitions whose whole month lies before `cutoff`."""
    dropped = [month for month in existing_months() if _utc(next_month(month)) <= cutoff]
    with connection.cursor() as cursor:
        for month in dropped:
            cursor.execute(f'DROP TABLE IF EXISTS "{partition_name(month)}"')
    return dropped


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
