"""An index of the daily totals led by the package.

A page of the packages list (50 packages) asks for its packages' downloads
and sparklines of 30 days. The unique key leads with the bucket, so that
read went through every package's totals of the range: 110 ms at 5,000
packages, for 100 rows (bench/dashboard.py). Led by the package, it reads
only its rows.

Partial (daily totals only) and without the counters: ingestion's updates
of a rollup row change no indexed column and stay heap-only (migration
0008). On PostgreSQL it is built CONCURRENTLY, so ingestion goes on.
"""

from django.db import migrations, models

INDEX = models.Index(
    fields=["organisation_id", "package", "bucket"],
    condition=models.Q(period="day", dimension="total"),
    name="analytics_rollup_package_days",
)


def create(apps, schema_editor):
    rollup = apps.get_model("analytics", "Rollup")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX.name}")  # interrupted
        schema_editor.add_index(rollup, INDEX, concurrently=True)
    else:
        schema_editor.add_index(rollup, INDEX)


def drop(apps, schema_editor):
    schema_editor.remove_index(apps.get_model("analytics", "Rollup"), INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("analytics", "0009_sourceday_key_as_primary_key"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex("rollup", INDEX)],
            database_operations=[migrations.RunPython(create, drop, elidable=False)],
        ),
    ]
