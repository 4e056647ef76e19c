"""Reading the event stream with a consumer group, batch by batch.

Each batch is stored (apps/analytics/ingest.py: raw rows and rollups in one
transaction) and only then acknowledged and deleted from the stream. A
failure anywhere before the acknowledgement leaves the batch pending: this
consumer retries its own pending entries first on its next run, and entries
of a consumer that died are claimed by another once they have been idle for
ANALYTICS_CLAIM_IDLE_MS. Re-delivery is harmless because storing is
idempotent.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from .events import EVENTS_STREAM, Messages, parse
from .ingest import store_events

log = logging.getLogger(__name__)

GROUP = "analytics"
INGESTED_KEY = "metrics:ingested"  # events stored, for the ingestion rate
FORGET_CONSUMER_AFTER_MS = 24 * 3600 * 1000


def consumer_name() -> str:
    """Stable for the life of a worker process, distinct between processes."""
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumer:
    def __init__(
        self,
        client: redis.Redis,
        name: str,
        batch_size: int | None = None,
        claim_idle_ms: int | None = None,
    ):
        self.client = client
        self.name = name
        self.batch_size = batch_size or settings.ANALYTICS_BATCH_SIZE
        self.claim_idle_ms = (
            settings.ANALYTICS_CLAIM_IDLE_MS if claim_idle_ms is None else claim_idle_ms
        )

    def run(self, seconds: float) -> int:
        """Own pending entries, then stale ones of dead consumers, then new
        entries until the stream is drained or `seconds` have passed.
        Returns how many new events were stored."""
        deadline = time.monotonic() + seconds
        self.ensure_group()
        stored = self._drain(lambda: self._read("0"), deadline)
        stored += self._drain(self._claim, deadline)
        stored += self._drain(lambda: self._read(">"), deadline)
        self.forget_idle_consumers()
        return stored

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(EVENTS_STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    def _drain(self, fetch, deadline: float) -> int:
        stored = 0
        while time.monotonic() < deadline:
            messages = fetch()
            if not messages:
                break
            stored += self.process(messages)
        return stored

    def _read(self, start: str) -> Messages:
        reply = self.client.xreadgroup(
            GROUP, self.name, {EVENTS_STREAM: start}, count=self.batch_size
        )
        return reply[0][1] if reply else []

    def _claim(self) -> Messages:
        reply = self.client.xautoclaim(
            EVENTS_STREAM, GROUP, self.name, self.claim_idle_ms, "0-0", count=self.batch_size
        )
        return reply[1]

    def process(self, messages: Messages) -> int:
        """Store a batch, then acknowledge it; nothing is acknowledged if storing fails."""
        with cyclic_gc_paused():
            stored = store_events(parse(messages))
        ids = [message_id for message_id, _ in messages]
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(EVENTS_STREAM, GROUP, *ids)
        pipe.xdel(EVENTS_STREAM, *ids)
        pipe.incrby(INGESTED_KEY, stored)
        pipe.execute()
        return stored

    def forget_idle_consumers(self) -> None:
        """Drop consumers of finished processes once they own nothing."""
        for consumer in self.client.xinfo_consumers(EVENTS_STREAM, GROUP):
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else name
            idle = consumer["idle"] > FORGET_CONSUMER_AFTER_MS
            if name != self.name and consumer["pending"] == 0 and idle:
                self.client.xgroup_delconsumer(EVENTS_STREAM, GROUP, name)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Without the cyclic garbage collector for a batch: the batch's
    ~100,000 containers (events, rows, counters; reference counting frees
    them, they hold no cycles) would trigger collections that walk the
    worker's whole heap: a third of the consumer's CPU in bench/ingest.py."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
