"""Analytics background work, each task small, named, and safe to run twice.

Ingestion runs as a short task that beat starts every
ANALYTICS_INGEST_INTERVAL seconds and that drains the stream for at most
ANALYTICS_INGEST_SECONDS, rather than as one endless consumer loop: a
worker restart, a deploy or a crash loses nothing (pending entries are
retried or claimed), the work shows up in Celery's monitoring like any task,
and more workers simply mean more consumers in the group.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from apps.gateway.recording import RedisStreamSink, events_redis, spool

from . import partitions, retention, summaries
from .consumer import StreamConsumer, consumer_name


@shared_task
def ingest_events() -> int:
    """Move events from the stream into the raw table and the rollups."""
    consumer = StreamConsumer(events_redis(), consumer_name())
    return consumer.run(settings.ANALYTICS_INGEST_SECONDS)


@shared_task
def replay_spool() -> int:
    """Move events a gateway on this machine spooled during a Redis outage into the stream."""
    return spool().replay(RedisStreamSink(events_redis()))


@shared_task
def create_event_partitions() -> None:
    """Create the raw table's partitions for this month and the next ones."""
    partitions.ensure_ahead(timezone.now().date(), settings.ANALYTICS_PARTITIONS_AHEAD)


@shared_task
def apply_retention() -> int:
    """Delete raw events past each organisation's retention."""
    return retention.apply(timezone.now())


@shared_task
def summarise_days() -> int:
    """Summarise the finished days not summarised yet (a day once it is
    over, and again after late events)."""
    return summaries.summarise_due(timezone.now().date())
