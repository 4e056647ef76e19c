"""Concurrent requests share one durable write, and each waits for its own:
threads (GroupCommitter, the WSGI path) and an event loop
(AsyncGroupCommitter, the server's fast path)."""

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor as ThreadPool

import pytest
from django.conf import settings

from apps.analytics.events import read_stream_events
from apps.analytics.spool import Spool
from apps.gateway.recording import (
    AsyncGroupCommitter,
    AsyncRedisStreamSink,
    DurableWriter,
    GroupCommitter,
)
from scarf.ports import free_port

from .conftest import make_event


class SlowStore:
    """Takes 20 ms per write, like a store under load; remembers each batch."""

    def __init__(self):
        self.batches: list[list[str]] = []

    def __call__(self, events):
        time.sleep(0.02)
        self.batches.append([event["id"] for event in events])

    def stored(self) -> set[str]:
        return {event_id for batch in self.batches for event_id in batch}


def test_concurrent_requests_are_written_in_few_batches_before_each_returns(tmp_path):
    store = SlowStore()
    committer = GroupCommitter(DurableWriter(store, Spool(tmp_path / "spool")))
    durable_on_return = []

    def request():
        event = make_event()
        committer.record([event])
        durable_on_return.append(event["id"] in store.stored())

    threads = [threading.Thread(target=request) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert durable_on_return == [True] * 40
    assert len(store.stored()) == 40
    assert len(store.batches) < 10


def test_events_go_to_the_spool_when_the_store_fails(tmp_path):
    def unreachable(events):
        raise ConnectionError("store down")

    committer = GroupCommitter(DurableWriter(unreachable, Spool(tmp_path / "spool")))

    committer.record([make_event(), make_event()])

    assert len((tmp_path / "spool" / "events.spool").read_text().splitlines()) == 2
    committer.writer.spool.replay(lambda events: None)  # leave nothing for its idle replays


def test_a_request_fails_when_its_events_cannot_be_made_durable(tmp_path):
    def unreachable(events):
        raise ConnectionError("store down")

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    committer = GroupCommitter(DurableWriter(unreachable, Spool(blocked / "spool")))

    with pytest.raises(NotADirectoryError):
        committer.record([make_event()])


def refuse(events):
    raise ConnectionError("store down")


def run_async_requests(committer_for, count: int) -> list:
    """`count` requests answered in one loop iteration, as the server answers
    them; returns what each request's callback was given, in order."""
    answers: list = []

    async def main():
        loop = asyncio.get_running_loop()
        committer = committer_for(loop)
        done = loop.create_future()

        def callback(error):
            answers.append(error)
            if len(answers) == count:
                done.set_result(None)

        for _ in range(count):
            committer.record([make_event()], callback)
        await asyncio.wait_for(done, 10)
        assert committer.idle()

    asyncio.run(main())
    return answers


def test_a_loop_iteration_of_requests_is_one_write_to_redis(tmp_path, redis_db):
    writes = []
    sink = AsyncRedisStreamSink(settings.REDIS_URL, timeout=2)

    async def counted(events):
        writes.append(len(events))
        await sink(events)

    writer = DurableWriter(refuse, Spool(tmp_path / "spool"))
    answers = run_async_requests(lambda loop: AsyncGroupCommitter(loop, counted, writer, None), 50)

    assert answers == [None] * 50
    assert writes == [50]
    assert len(read_stream_events(redis_db)) == 50
    assert not (tmp_path / "spool" / "events.spool").exists()


def test_each_answer_waits_until_its_events_are_in_redis(tmp_path, redis_db):
    stored_when_answered = []
    sink = AsyncRedisStreamSink(settings.REDIS_URL, timeout=2)

    async def main():
        loop = asyncio.get_running_loop()
        committer = AsyncGroupCommitter(loop, sink, DurableWriter(refuse, Spool(tmp_path)), None)
        finished = []
        for _ in range(3):
            event = make_event()

            def callback(error, event_id=event["id"]):
                ids = {stored["id"] for stored in read_stream_events(redis_db)}
                stored_when_answered.append(error is None and event_id in ids)
                finished.append(1)

            committer.record([event], callback)
            await asyncio.sleep(0)  # a later iteration: a later batch, maybe
        while len(finished) < 3:
            await asyncio.sleep(0.01)

    asyncio.run(main())

    assert stored_when_answered == [True, True, True]


def test_events_go_to_the_spool_when_redis_is_unreachable(tmp_path):
    spool = Spool(tmp_path / "spool")
    unreachable = AsyncRedisStreamSink(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    writer = DurableWriter(refuse, spool)
    with ThreadPool() as executor:
        answers = run_async_requests(
            lambda loop: AsyncGroupCommitter(loop, unreachable, writer, executor), 5
        )

    assert answers == [None] * 5
    assert len((tmp_path / "spool" / "events.spool").read_text().splitlines()) == 5
    assert not writer.store_reachable()  # the next batches go straight to the spool
    spool.replay(lambda events: None)


def test_an_answer_fails_when_its_events_cannot_be_made_durable(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    unreachable = AsyncRedisStreamSink(f"redis://127.0.0.1:{free_port()}/0", timeout=1)
    writer = DurableWriter(refuse, Spool(blocked / "spool"))
    with ThreadPool() as executor:
        answers = run_async_requests(
            lambda loop: AsyncGroupCommitter(loop, unreachable, writer, executor), 3
        )

    assert [type(answer) for answer in answers] == [NotADirectoryError] * 3
