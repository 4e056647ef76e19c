"""No raw IP is stored anywhere once events are ingested."""

import pytest
from django.db import connection

from apps.analytics.models import DownloadEvent, SourceDay

from .conftest import IP_DE, IP_FR, IP_JP, add_to_stream, consumer, make_event


def analytics_tables() -> list[str]:
    return [
        name for name in connection.introspection.table_names() if name.startswith("analytics_")
    ]


def table_text(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - names from the catalog
        return repr(cursor.fetchall())


@pytest.mark.django_db
def test_no_analytics_table_holds_a_client_ip(redis_db, test_mmdb):
    ips = [IP_DE, IP_FR, IP_JP, "2001:db8::42"]
    add_to_stream(redis_db, [make_event(client_ip=ip) for ip in ips])

    consumer(redis_db).run(seconds=10)

    assert DownloadEvent.objects.count() == len(ips)
    assert "analytics_downloadevent" in analytics_tables()
    for table in analytics_tables():
        text = table_text(table)
        assert not [ip for ip in ips if ip in text], table
    assert "client_ip" not in [field.name for field in DownloadEvent._meta.fields]


@pytest.mark.django_db
def test_do_not_track_downloads_count_without_geography_or_source(redis_db, test_mmdb):
    from .conftest import ingest

    ingest([make_event(dnt=True), make_event(gpc=True), make_event()])

    private = DownloadEvent.objects.filter(country="")
    assert private.count() == 2
    assert set(private.values_list("asn_org", "source_id")) == {("", "")}
    assert DownloadEvent.objects.filter(download=True).count() == 3
    assert SourceDay.objects.count() == 1
