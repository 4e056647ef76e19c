"""No loss, no double count: whatever fails, N recorded events end as N downloads."""

import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import redis
from django.db import connection, transaction

from apps.analytics.consumer import GROUP
from apps.analytics.events import EVENTS_STREAM, read_stream_events
from apps.analytics.models import DownloadEvent
from apps.analytics.queries import totals
from apps.analytics.spool import Spool
from apps.gateway.recording import RedisStreamSink
from scarf.ports import free_port

from .conftest import add_to_stream, consumer, ingest, make_event

N = 25


def downloads_today() -> int:
    today = datetime.now(UTC).date()
    return totals(1, today, today)["downloads"]


def assert_exactly(redis_db, count: int) -> None:
    assert DownloadEvent.objects.count() == count
    assert downloads_today() == count
    assert redis_db.xpending(EVENTS_STREAM, GROUP)["pending"] == 0


@pytest.mark.django_db
def test_a_batch_stored_but_not_acknowledged_is_counted_once_when_redelivered(redis_db):
    add_to_stream(redis_db, [make_event() for _ in range(N)])
    crashing = consumer(redis_db, batch_size=10)
    crashing.client = redis.Redis(connection_pool=redis_db.connection_pool)
    crashing.client.pipeline = lambda **_: (_ for _ in ()).throw(redis.ConnectionError("killed"))

    with pytest.raises(redis.ConnectionError):
        crashing.run(seconds=10)
    assert DownloadEvent.objects.count() == 10  # stored, never acknowledged

    consumer(redis_db, batch_size=10).run(seconds=10)

    assert_exactly(redis_db, N)


def taken_by(redis_db, name: str) -> None:
    """N events delivered to consumer `name`, which never processes them."""
    add_to_stream(redis_db, [make_event() for _ in range(N)])
    consumer(redis_db, name).ensure_group()
    redis_db.xreadgroup(GROUP, name, {EVENTS_STREAM: ">"}, count=N)


@pytest.mark.django_db
def test_entries_of_a_dead_consumer_are_claimed_by_another(redis_db):
    taken_by(redis_db, "dead-worker")

    consumer(redis_db, "live-worker", claim_idle_ms=0).run(seconds=10)

    assert_exactly(redis_db, N)


@pytest.mark.django_db
def test_entries_of_a_busy_consumer_are_not_claimed_before_the_idle_threshold(redis_db):
    taken_by(redis_db, "busy-worker")

    consumer(redis_db, "other-worker", claim_idle_ms=60_000).run(seconds=10)

    assert DownloadEvent.objects.count() == 0
    assert redis_db.xpending(EVENTS_STREAM, GROUP)["pending"] == N


@pytest.mark.django_db(transaction=True)
def test_the_backlog_waits_while_postgresql_is_unreachable_and_is_ingested_after(
    redis_db, monkeypatch
):
    add_to_stream(redis_db, [make_event() for _ in range(N)])
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))

    with pytest.raises(Exception, match="connect"):
        consumer(redis_db).run(seconds=10)

    monkeypatch.undo()
    connection.close()
    assert redis_db.xpending(EVENTS_STREAM, GROUP)["pending"] == N
    assert DownloadEvent.objects.count() == 0

    consumer(redis_db).run(seconds=10)

    assert_exactly(redis_db, N)


@pytest.mark.django_db
def test_a_spool_replayed_twice_after_a_crash_still_counts_each_event_once(redis_db, tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append([make_event() for _ in range(N)])
    deliver = RedisStreamSink(redis_db)
    crash_copy = tmp_path / "before-unlink.spool"

    def deliver_then_crash(events):
        deliver(events)
        shutil.copy(next((tmp_path / "spool").glob("replay-*.spool")), crash_copy)

    spool.replay(deliver_then_crash)
    shutil.move(crash_copy, tmp_path / "spool" / "replay-0-0.spool")  # the file survived the crash
    spool.replay(deliver)

    assert len(read_stream_events(redis_db)) == 2 * N
    consumer(redis_db).run(seconds=10)
    assert_exactly(redis_db, N)
    assert not spool.pending()


@pytest.mark.django_db
def test_a_torn_last_line_in_the_spool_is_skipped(redis_db, tmp_path):
    spool = Spool(tmp_path / "spool")
    spool.append([make_event() for _ in range(3)])
    with open(spool.current, "ab") as file:
        file.write(b'{"id": "torn')

    replayed = spool.replay(RedisStreamSink(redis_db))

    assert replayed == 3
    assert len(read_stream_events(redis_db)) == 3


@pytest.mark.django_db
def test_a_batch_partly_stored_already_stores_and_counts_its_new_events_only():
    events = [make_event() for _ in range(N)]
    assert ingest(events[:10]) == 10

    assert ingest(events) == N - 10

    assert DownloadEvent.objects.count() == N
    assert downloads_today() == N


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_of_two_consumers_at_once_count_each_event_once():
    """The second batch is stored while the first one's transaction is
    open, and waits for it on the events it shares."""
    events = [make_event() for _ in range(N)]
    first_open, second_started = threading.Event(), threading.Event()

    def store_first():
        try:
            with transaction.atomic():
                ingest(events[:15])
                first_open.set()
                second_started.wait(10)
                time.sleep(0.3)  # the second batch is then waiting on the shared keys
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(store_first)
        assert first_open.wait(10)
        second_started.set()
        stored_by_second = ingest(events[5:])
        first.result()

    assert stored_by_second == N - 15
    assert DownloadEvent.objects.count() == N
    assert downloads_today() == N
