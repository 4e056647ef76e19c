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
import random
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson
import redis
from django.conf import settings
from django.db import close_old_connections

from apps.analytics.spool import Spool

from .engine.http import Request
from .engine.outcome import Capture, Outcome, Redirect

EVENTS_STREAM = "events"
EVENTS_PER_ENTRY = 200
RETRY_AFTER = 1.0

log = logging.getLogger(__name__)


def uuid7() -> str:
    """A time-ordered UUID (version 7): sortable, unique without coordination."""
    # random.getrandbits: fast, and reseeded in every forked worker by the random module
    value = (time.time_ns() // 1_000_000) << 80 | random.getrandbits(80)
    value = value & _UUID7_CLEAR | _UUID7_MARKS
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


_UUID7_CLEAR = ~(0xF << 76 | 0x3 << 62)
_UUID7_MARKS = 0x7 << 76 | 0x2 << 62


def build_events(
    request: Request, organisation: int, outcome: Outcome, status: int, target: str = ""
) -> list[dict[str, Any]]:
    """One event per capture of a claimed request; none for unclaimed ones."""
    return stamp_events(event_templates(request, organisation, outcome, status, target), request)


def event_templates(
    request: Request, organisation: int, outcome: Outcome, status: int, target: str = ""
) -> tuple[dict[str, Any], ...]:
    """What the events of an answer share with every identical request (the
    routing table remembers them with the answer, see routing.Routes)."""
    if isinstance(outcome.response, Redirect):
        target = outcome.response.location
    rule_id = int(outcome.rule_ref) if outcome.rule_ref.isdigit() else None
    return tuple(
        {
            "domain": request.host,
            "organisation": organisation,
            "rule_id": rule_id,
            "rule_type": outcome.rule_type or "",
            "package": capture.package or "",
            "method": request.method,
            "path": request.raw_target,
            "status": status,
            "target": target,
            "capture": _capture_fields(capture),
        }
        for capture in outcome.captures
    )


def stamp_events(templates: tuple[dict[str, Any], ...], request: Request) -> list[dict[str, Any]]:
    """The events of this request: the shared part, plus an id, the time and who asked."""
    if not templates:
        return []
    headers = dict(reversed(request.headers))  # the first line of a repeated header wins
    fields = {
        "timestamp": datetime.now(UTC).isoformat(),
        "user_agent": headers.get("user-agent", ""),
        "referer": headers.get("referer", ""),
        "client_ip": request.client_ip,
        "dnt": headers.get("dnt") == "1",
        "gpc": headers.get("sec-gpc") == "1",
    }
    return [{"id": uuid7(), **template, **fields} for template in templates]


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
    """Appends a batch to the stream in one round trip: a stream entry holds
    up to EVENTS_PER_ENTRY events as one JSON array, so a busy gateway costs
    Redis one command per few hundred downloads, not one per download.

    A committer has one writer at a time, so the sink keeps one connection
    of its own and writes the commands straight down it (the pool and a
    pipeline object cost more than the write when batches are small).
    """

    def __init__(self, client: redis.Redis):
        self.client = client
        self._connection = None

    def __call__(self, events: list[dict[str, Any]]) -> None:
        commands = [
            (
                "XADD",
                EVENTS_STREAM,
                "*",
                "events",
                dump_events(events[start : start + EVENTS_PER_ENTRY]),
            )
            for start in range(0, len(events), EVENTS_PER_ENTRY)
        ]
        if self._connection is None:
            self._connection = self.client.connection_pool.make_connection()
        connection = self._connection
        try:
            connection.send_packed_command(connection.pack_commands(commands))
            for _command in commands:
                connection.read_response()
        except BaseException:
            connection.disconnect()  # a half-read reply must not reach the next batch
            raise


def dump_events(events: list[dict[str, Any]]) -> bytes:
    """orjson, or the standard library for text orjson refuses (a lone
    surrogate from a percent-decoded path, written escaped)."""
    try:
        return orjson.dumps(events)
    except TypeError:
        return json.dumps(events, separators=(",", ":")).encode()


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
        self.waiters: list = []  # a held lock per request in the batch
        self.written = False
        self.error: BaseException | None = None


class GroupCommitter:
    """Requests of a process share writes: while one request writes, the
    events of the others gather in the next batch.

    There is no writer thread to hand events to (each hand-off between
    threads costs more than the write): a request that finds no write in
    flight writes the pending batch itself, its own events included, so a
    lone request is written at once. The others wait on a lock each; when a
    write ends, its requests are released and the first request of the
    batch that gathered meanwhile is woken to write that one. One round trip
    per batch, not per request.
    """

    def __init__(self, deliver, spool: Spool):
        self.deliver = deliver
        self.spool = spool
        self._retry_at = 0.0
        self._spooled = False
        self._lock = threading.Lock()
        self._pending = _Batch()
        self._writing = False

    def record(self, events: list[dict[str, Any]]) -> None:
        turn = threading.Lock()
        turn.acquire()
        with self._lock:
            batch = self._pending
            batch.events += events
            batch.waiters.append(turn)
            writer = not self._writing
            self._writing = True
        if not writer:
            turn.acquire()  # released once the batch is written, or to write it
        if not batch.written:
            self._write_pending(turn)
        if batch.error is not None:
            raise batch.error

    def _write_pending(self, turn) -> None:
        with self._lock:
            batch, self._pending = self._pending, _Batch()
        try:
            self._write(batch.events)
        except BaseException as error:  # noqa: BLE001 - raised in every request of the batch
            batch.error = error
        batch.written = True
        for waiter in batch.waiters:
            if waiter is not turn:
                waiter.release()
        with self._lock:
            following = self._pending.waiters[0] if self._pending.waiters else None
            self._writing = following is not None
        if following is not None:
            following.release()

    def _write(self, events: list[dict[str, Any]]) -> None:
        """Deliver, or spool when the store is unreachable (and keep spooling
        for RETRY_AFTER seconds rather than wait on a dead store for every
        batch); after a successful delivery, replay what an outage spooled."""
        if time.monotonic() < self._retry_at:
            self._spool(events)
            return
        try:
            self.deliver(events)
        except Exception:
            log.warning("event store unreachable: spooling %d events", len(events), exc_info=True)
            self._retry_at = time.monotonic() + RETRY_AFTER
            self._spool(events)
            return
        if self._spooled:
            self._replay()

    def _spool(self, events: list[dict[str, Any]]) -> None:
        self.spool.append(events)
        self._spooled = True

    def _replay(self) -> None:
        if not self.spool.pending():
            self._spooled = False
            return
        try:
            self.spool.replay(self.deliver)
            self._spooled = False
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


def read_stream_events(client: redis.Redis) -> list[dict[str, Any]]:
    """Every event in the stream, ingested or not, oldest first (reads the
    whole stream: for the benchmark and tests, not for a hot path)."""
    from apps.analytics.consumer import parse

    events, start = [], "-"
    while entries := client.xrange(EVENTS_STREAM, start, "+", count=1000):
        events += parse(entries)
        start = "(" + entries[-1][0].decode()
    return events
