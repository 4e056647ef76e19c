"""Raw events past an organisation's retention are dropped; partitions come and go."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from apps.accounts.models import Organisation
from apps.analytics import partitions, retention
from apps.analytics.models import AnalyticsSettings, DownloadEvent, Rollup

from .conftest import ingest, make_event

NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def days_ago(days: int, organisation: int) -> dict:
    return make_event(timestamp=(NOW - timedelta(days=days)).isoformat(), organisation=organisation)


@pytest.mark.django_db
def test_each_organisation_keeps_raw_events_for_its_own_retention(settings):
    settings.ANALYTICS_RETENTION_DAYS = 30
    short = Organisation.objects.create(name="Short", slug="short")
    AnalyticsSettings.objects.create(organisation=short, retention_days=7)
    other = 10**12  # no organisation of the test database has this id
    ingest(
        [days_ago(3, short.id), days_ago(10, short.id), days_ago(10, other), days_ago(40, other)]
    )

    retention.apply(NOW)

    kept = sorted(DownloadEvent.objects.values_list("organisation_id", flat=True))
    assert kept == [short.id, other]
    assert Rollup.objects.filter(dimension="total", period="day").count() == 4


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")
def test_ingestion_creates_the_months_partition_and_retention_drops_old_ones(settings):
    settings.ANALYTICS_RETENTION_DAYS = 30
    ingest([days_ago(100, 1), days_ago(1, 1)])

    assert date(2026, 8, 1) in partitions.existing_months()

    retention.apply(NOW)

    assert date(2026, 8, 1) not in partitions.existing_months()
    assert date(2026, 11, 1) in partitions.existing_months()
    assert DownloadEvent.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")
def test_partitions_are_created_ahead():
    partitions.ensure_ahead(date(2031, 11, 15), months_ahead=2)

    assert {date(2031, 11, 1), date(2031, 12, 1), date(2032, 1, 1)} <= set(
        partitions.existing_months()
    )
