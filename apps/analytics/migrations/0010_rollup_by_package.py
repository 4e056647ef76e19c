"""An index of the rollups led by the package.

The unique key leads with the bucket, so reading a few packages' counts
went through every package's rows of the range: a page of the packages list
(50 packages' daily totals of 30 days) took 110 ms at 5,000 packages for
100 rows, and a package's page reads its versions and clients the same way
(bench/dashboard.py). Led by the package, a read touches only its rows.

No counter is in it, so ingestion's updates of a rollup row change no
indexed column and stay heap-only (migration 0008); only a new row (a new
day, value or package) pays for one more index entry. On PostgreSQL it is
built CONCURRENTLY, so ingestion goes on.
"""

from django.db import migrations, models

INDEX = models.Index(
    fields=["organisation_id", "package", "period", "dimension", "bucket"],
    name="analytics_rollup_by_package",
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
