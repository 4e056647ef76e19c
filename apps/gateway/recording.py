"""Download events: built from a gateway outcome, made durable before the response.

The event fields are GATEWAY-DECISIONS §8. `record_download` returns once the
events are durable: appended to the Redis stream `events` (ingested later by
apps/analytics/tasks.py), or, in embedded mode, stored in the database with
their rollups. Concurrent requests share one write (group commit): a
committer thread writes whatever arrived while its previous write was in
flight, as one pipelined batch, and wakes the requests of that batch. When
the store is unreachable the batch is appended to a local fsynced spool file
instead (apps/analytics/spool.py); the committer replays the spool as soon as
a write succeeds again, and a periodic task replays it too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import redis
from django.conf import settings
from django.db import close_old_connections

from apps.analytics.spool import Spool

from .engine.http import Request
from .engine.outcome import Capture, Outcome, Redirect

EVENTS_STREAM = "events"
REPLAY_INTERVAL = 5.0
RETRY_AFTER = 1.0

log = logging.getLogger(__name__)


def uuid7() -> str:
    """A time-ordered UUID (version 7): sortable, unique without coordination."""
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    value = (value & ~(0xF << 76)) | (0x7 << 76)
    value = (value & ~(0x3 << 62)) | (0x2 << 62)
    return str(uuid.UUID(int=value))


def build_events(
    request: Request, organisation: int, outcome: Outcome, status: int, target: str = ""
) -> list[dict[str, Any]]:
    """One event per capture of a claimed request; none for unclaimed ones."""
    if isinstance(outcome.response, Redirect):
        target = outcome.response.location
    now = datetime.now(UTC).isoformat()
    return [
        {
            "id": uuid7(),
            "timestamp": now,
            "domain": request.host,
            "organisation": organisation,
            "rule_id": int(outcome.rule_ref) if outcome.rule_ref.isdigit() else None,
            "rule_type": outcome.rule_type or "",
            "package": capture.package or "",
            "method": request.method,
            "path": request.raw_target,
            "status": status,
            "target": target,
            "capture": _capture_fields(capture),
            "user_agent": request.header("user-agent") or "",
            "referer": request.header("referer") or "",
            "client_ip": request.client_ip,
            "dnt": request.header("dnt") == "1",
            "gpc": request.header("sec-gpc") == "1",
        }
        for capture in outcome.captures
    ]


def _capture_fields(capture: Capture) -> dict[str, Any]:
    return {"kind": capture.kind, **capture.fields}


def record_download(events: list[dict[str, Any]], recorder=None) -> None:
    """Make events durable before the response is sent (raises if they cannot be)."""
    if events:
        (recorder or default_recorder()).record(events)


def events_redis() -> redis.Redis:
    """The Redis holding the event stream (EVENTS_REDIS_URL, by default REDIS_URL)."""
    return redis.Redis.from_url(
        settings.EVENTS_REDIS_URL,
        socket_timeout=settings.EVENTS_REDIS_TIMEOUT,
        socket_connect_timeout=settings.EVENTS_REDIS_TIMEOUT,
    )


class RedisStreamSink:
    """Appends a batch to the stream in one pipelined round trip."""

    def __init__(self, client: redis.Redis):
        self.client = client

    def __call__(self, events: list[dict[str, Any]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for event in events:
            pipe.xadd(EVENTS_STREAM, {"event": json.dumps(event, separators=(",", ":"))})
        pipe.execute()


class DatabaseSink:
    """Embedded mode: stores the batch and folds its rollups in one transaction
    (there is no stream and no worker), from the committer thread."""

    def __call__(self, events: list[dict[str, Any]]) -> None:
        from apps.analytics.ingest import store_events

        try:
            store_events(events)
        finally:
            close_old_connections()


class _Batch:
    def __init__(self):
        self.events: list[dict[str, Any]] = []
        self.done = threading.Event()
        self.error: BaseException | None = None


class GroupCommitter:
    """One writer thread per process; requests hand it events and wait.

    A batch is everything that arrived while the previous write was in
    flight, so a lone request is written at once and a busy process writes
    large batches: one round trip per batch, not per request.
    """

    def __init__(self, deliver, spool: Spool):
        self.deliver = deliver
        self.spool = spool
        self._pid = None
        self._start_lock = threading.Lock()
        self._retry_at = 0.0

    def record(self, events: list[dict[str, Any]]) -> None:
        self._start_in_this_process()
        with self._ready:
            batch = self._batch
            batch.events.extend(events)
            self._ready.notify()
        batch.done.wait()
        if batch.error is not None:
            raise batch.error

    def _start_in_this_process(self) -> None:
        """Threads do not survive a fork: each process starts its own committer."""
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._ready = threading.Condition()
            self._batch = _Batch()
            threading.Thread(target=self._run, name="event-committer", daemon=True).start()
            self._pid = os.getpid()

    def _run(self) -> None:
        while True:
            with self._ready:
                if not self._ready.wait_for(lambda: self._batch.events, REPLAY_INTERVAL):
                    batch = None
                else:
                    batch, self._batch = self._batch, _Batch()
            if batch is None:
                self._replay()
            else:
                self._commit(batch)

    def _commit(self, batch: _Batch) -> None:
        try:
            self._write(batch.events)
        except BaseException as error:  # noqa: BLE001 - handed to the waiting requests
            batch.error = error
        batch.done.set()

    def _write(self, events: list[dict[str, Any]]) -> None:
        """Deliver, or spool when the store is unreachable (and keep spooling
        for RETRY_AFTER seconds rather than wait on a dead store for every
        batch); after a successful delivery, replay what an outage spooled."""
        if time.monotonic() < self._retry_at:
            self.spool.append(events)
            return
        try:
            self.deliver(events)
        except Exception:
            log.warning("event store unreachable: spooling %d events", len(events), exc_info=True)
            self._retry_at = time.monotonic() + RETRY_AFTER
            self.spool.append(events)
            return
        self._replay()

    def _replay(self) -> None:
        if not self.spool.pending():
            return
        try:
            self.spool.replay(self.deliver)
        except Exception:
            log.warning("spool replay failed; will retry", exc_info=True)


def spool() -> Spool:
    return Spool(settings.VAR_DIR / "spool")


_recorder = None


def default_recorder() -> GroupCommitter:
    global _recorder
    if _recorder is None:
        deliver = DatabaseSink() if settings.EMBEDDED else RedisStreamSink(events_redis())
        _recorder = GroupCommitter(deliver, spool())
    return _recorder
