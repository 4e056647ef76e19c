"""Turn the raw events table into a table partitioned by month (PostgreSQL only).

The primary key becomes (id, timestamp), as PostgreSQL requires the partition
key in it; an event's timestamp never changes, so ids stay unique. Existing
rows are copied into one partition per month they fall in. SQLite (embedded
mode) keeps the plain table.
"""

from django.db import migrations

TABLE = "analytics_downloadevent"
OLD = "analytics_downloadevent_unpartitioned"


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    run(f"ALTER TABLE {TABLE} RENAME TO {OLD}")
    run("ALTER INDEX analytics_event_org_time RENAME TO analytics_event_org_time_old")
    run(
        f"CREATE TABLE {TABLE} (LIKE {OLD} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        'PARTITION BY RANGE ("timestamp")'
    )
    run(f'ALTER TABLE {TABLE} ADD PRIMARY KEY (id, "timestamp")')
    run(f'CREATE INDEX analytics_event_org_time ON {TABLE} (organisation_id, "timestamp")')
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', \"timestamp\" AT TIME ZONE 'UTC') FROM {OLD}"  # noqa: S608
        )
        months = [row[0] for row in cursor.fetchall()]
    for month in months:
        following = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
        run(
            f"CREATE TABLE {TABLE}_{month:%Y%m} PARTITION OF {TABLE} FOR VALUES "
            f"FROM ('{month:%Y-%m-01} 00:00+00') TO ('{following:%Y-%m-01} 00:00+00')"
        )
    run(f"INSERT INTO {TABLE} SELECT * FROM {OLD}")  # noqa: S608 - constants
    run(f"DROP TABLE {OLD}")


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0004_analytics_settings"),
    ]

    operations = [
        migrations.RunPython(partition, migrations.RunPython.noop, elidable=False),
    ]
