"""Concurrent requests share one durable write, and each waits for its own."""

import threading
import time

import pytest

from apps.analytics.spool import Spool
from apps.gateway.recording import DurableWriter, GroupCommitter

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
    committer.spool.replay(lambda events: None)  # leave nothing for its idle replays


def test_a_request_fails_when_its_events_cannot_be_made_durable(tmp_path):
    def unreachable(events):
        raise ConnectionError("store down")

    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    committer = GroupCommitter(DurableWriter(unreachable, Spool(blocked / "spool")))

    with pytest.raises(NotADirectoryError):
        committer.record([make_event()])
