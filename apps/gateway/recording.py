"""Download events: built from a gateway outcome, made durable before the response.

The event fields are GATEWAY-DECISIONS §8. An answer leaves only once its
events are durable: appended to the Redis stream `events` (ingested later by
apps/analytics/tasks.py), or, in embedded mode, stored in the database with
their rollups. Concurrent requests share one write (group commit): threads
through GroupCommitter (`record_download`, the WSGI application), the
server's event loop through AsyncGroupCommitter. Both write through one
DurableWriter: when the store is unreachable a batch is appended to a local
fsynced spool file instead (apps/analytics/spool.py), replayed as soon as a
write succeeds again, and by a periodic task too.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import hiredis
import redis
import redis.connection
from django.conf import settings
from django.db import close_old_connections

from apps.analytics.events import Event, stream_commands
from apps.analytics.spool import Spool

from .engine.http import Request
from .engine.outcome import Capture, Outcome, Redirect

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
) -> list[Event]:
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


def stamp_events(templates: tuple[dict[str, Any], ...], request: Request) -> list[Event]:
    """The events of this request: the shared part, plus an id, the time and who asked."""
    if not templates:
        return []
    user_agent = referer = dnt = gpc = None
    for name, value in request.headers:  # the first line of a repeated header wins
        if name == "user-agent":
            user_agent = value if user_agent is None else user_agent
        elif name == "referer":
            referer = value if referer is None else referer
        elif name == "dnt":
            dnt = value if dnt is None else dnt
        elif name == "sec-gpc":
            gpc = value if gpc is None else gpc
    fields = {
        "timestamp": iso_now(),
        "user_agent": user_agent or "",
        "referer": referer or "",
        "client_ip": request.client_ip,
        "dnt": dnt == "1",
        "gpc": gpc == "1",
    }
    return [{"id": uuid7(), **template, **fields} for template in templates]


_second = (0, "")


def iso_now() -> str:
    """The time in ISO 8601 with microseconds, in UTC (datetime.isoformat's
    text; formatting only the second's part once a second costs a fifth)."""
    global _second
    now = time.time()
    second = int(now)
    if second != _second[0]:
        _second = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((now - second) * 1_000_000):06d}+00:00"


def _capture_fields(capture: Capture) -> dict[str, Any]:
    return {"kind": capture.kind, **capture.fields}


def record_download(events: list[Event], recorder=None) -> None:
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
    """Appends a batch to the stream in one round trip (a stream entry holds
    a few hundred events: apps/analytics/events.py).

    A committer has one writer at a time, so the sink keeps one connection
    of its own and writes the commands straight down it (the pool and a
    pipeline object cost more than the write when batches are small).
    """

    def __init__(self, client: redis.Redis):
        self.client = client
        self._connection = None

    def __call__(self, events: list[Event]) -> None:
        commands = stream_commands(events)
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


class AsyncRedisStreamSink:
    """RedisStreamSink for an event loop (server.py): the same commands,
    written straight to a socket of the loop and their replies read with
    hiredis. redis.asyncio's stream layers cost more than the write itself
    when a batch holds a few dozen events, and the loop writes a batch per
    iteration."""

    def __init__(self, url: str, timeout: float):
        self.options = redis.connection.parse_url(url)
        self.timeout = timeout
        self._connection: _RedisConnection | None = None

    async def __call__(self, events: list[Event]) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                if self._connection is None or self._connection.closed:
                    self._connection = await self._connect()
                await self._connection.call(stream_commands(events))
        except BaseException:
            if self._connection is not None:
                self._connection.close()  # a reply still to come must not reach the next batch
                self._connection = None
            raise

    async def _connect(self) -> _RedisConnection:
        loop = asyncio.get_running_loop()
        options = self.options
        if "path" in options:
            _, connection = await loop.create_unix_connection(_RedisConnection, options["path"])
        else:
            tls = options.get("connection_class") is redis.connection.SSLConnection
            _, connection = await loop.create_connection(
                _RedisConnection,
                options.get("host", "localhost"),
                options.get("port", 6379),
                ssl=tls or None,
            )
        hello = []
        if options.get("password"):
            credentials = [options["username"]] if options.get("username") else []
            hello.append(("AUTH", *credentials, options["password"]))
        if options.get("db"):
            hello.append(("SELECT", options["db"]))
        if hello:
            await connection.call(hello)
        return connection


_PACKER = redis.connection.Connection()  # redis-py's RESP encoder; never connected


class _RedisConnection(asyncio.Protocol):
    """Pipelined commands in, one future per batch of replies out."""

    def __init__(self):
        self.reader = hiredis.Reader()
        self.waiting: collections.deque = collections.deque()  # (future, replies expected)
        self.replies: list = []
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def call(self, commands: list[tuple]) -> asyncio.Future:
        """Send `commands` in one write; the future resolves once all have replied
        (with the first error reply as its exception)."""
        future = asyncio.get_running_loop().create_future()
        self.waiting.append((future, len(commands)))
        self.transport.write(b"".join(_PACKER.pack_commands(commands)))
        return future

    def data_received(self, data: bytes):
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            self.replies.append(reply)
            future, count = self.waiting[0]
            if len(self.replies) == count:
                self.waiting.popleft()
                errors = [r for r in self.replies if isinstance(r, hiredis.ReplyError)]
                self.replies = []
                if not future.done():
                    if errors:
                        future.set_exception(redis.ResponseError(str(errors[0])))
                    else:
                        future.set_result(None)

    def connection_lost(self, exc):
        self.closed = True
        for future, _count in self.waiting:
            if not future.done():
                future.set_exception(redis.ConnectionError(f"connection to redis lost: {exc}"))
        self.waiting.clear()

    def close(self) -> None:
        self.closed = True
        self.transport.close()


class DatabaseSink:
    """Embedded mode: stores the batch and folds its rollups in one transaction
    (there is no stream and no worker), from the committer thread."""

    def __call__(self, events: list[Event]) -> None:
        from apps.analytics.ingest import store_events

        try:
            store_events(events)
        finally:
            close_old_connections()


class _Batch:
    def __init__(self):
        self.events: list[Event] = []
        self.waiters: list = []  # a held lock per request in the batch
        self.written = False
        self.error: BaseException | None = None


class DurableWriter:
    """Deliver a batch, or spool it when the store is unreachable: after a
    failure, batches go straight to the spool for RETRY_AFTER seconds rather
    than wait on a dead store each; after a successful delivery, what an
    outage spooled is replayed."""

    def __init__(self, deliver, spool: Spool):
        self.deliver = deliver
        self.spool = spool
        self._retry_at = 0.0
        self._spooled = False
        self._replaying = threading.Lock()

    def write(self, events: list[Event]) -> None:
        if not self.store_reachable():
            self.spool_events(events)
            return
        try:
            self.deliver(events)
        except Exception:
            self.delivery_failed(events)
            return
        self.delivered()

    def store_reachable(self) -> bool:
        return time.monotonic() >= self._retry_at

    def delivery_failed(self, events: list[Event]) -> None:
        log.warning("event store unreachable: spooling %d events", len(events), exc_info=True)
        self._retry_at = time.monotonic() + RETRY_AFTER
        self.spool_events(events)

    def spool_events(self, events: list[Event]) -> None:
        self.spool.append(events)
        self._spooled = True

    def needs_replay(self) -> bool:
        return self._spooled

    def delivered(self) -> None:
        """Replay what an outage spooled (one replay at a time per process)."""
        if not self._spooled or not self._replaying.acquire(blocking=False):
            return
        try:
            if self.spool.pending():
                self.spool.replay(self.deliver)
            self._spooled = False
        except Exception:
            log.warning("spool replay failed; will retry", exc_info=True)
        finally:
            self._replaying.release()


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

    def __init__(self, writer: DurableWriter):
        self.writer = writer
        self._lock = threading.Lock()
        self._pending = _Batch()
        self._writing = False

    def record(self, events: list[Event]) -> None:
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
            self.writer.write(batch.events)
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


class AsyncGroupCommitter:
    """The group commit of an event loop (server.py): every request answered
    in one loop iteration joins one batch, written while the next batch
    gathers; each request's callback runs once its batch is durable, with
    the error if it could not be made so. Blocking work (the spool's fsync,
    a replay, the database in embedded mode) runs in `executor`: a thread of
    its own in the server, so a thread pool busy with slow clients never
    holds a download's answer back."""

    def __init__(self, loop, deliver, writer: DurableWriter, executor):
        self.loop = loop
        self.deliver = deliver  # a coroutine function
        self.writer = writer
        self.executor = executor
        self._events: list[Event] = []
        self._callbacks: list = []
        self._writing = False

    @classmethod
    def for_settings(cls, loop) -> AsyncGroupCommitter:
        writer = default_recorder().writer
        executor = ThreadPoolExecutor(1, thread_name_prefix="events")
        if settings.EMBEDDED:

            async def deliver(events):
                await loop.run_in_executor(executor, writer.deliver, events)

        else:
            deliver = AsyncRedisStreamSink(settings.EVENTS_REDIS_URL, settings.EVENTS_REDIS_TIMEOUT)
        return cls(loop, deliver, writer, executor)

    def record(self, events: list[Event], callback) -> None:
        self._events += events
        self._callbacks.append(callback)
        if not self._writing:
            self._writing = True
            self.loop.call_soon(self._write_pending)  # after this iteration's requests

    def idle(self) -> bool:
        return not self._writing

    def _write_pending(self) -> None:
        events, callbacks = self._events, self._callbacks
        self._events, self._callbacks = [], []
        self.loop.create_task(self._write(events, callbacks))

    async def _write(self, events: list[Event], callbacks: list) -> None:
        error = None
        try:
            await self._make_durable(events)
        except BaseException as failure:  # noqa: BLE001 - answered in every request of the batch
            error = failure
        for callback in callbacks:
            callback(error)
        if self._callbacks:
            self._write_pending()
        else:
            self._writing = False

    async def _make_durable(self, events: list[Event]) -> None:
        writer = self.writer
        if writer.store_reachable():
            try:
                await self.deliver(events)
            except Exception:
                await self.loop.run_in_executor(self.executor, writer.delivery_failed, events)
                return
            if writer.needs_replay():
                self.loop.run_in_executor(self.executor, writer.delivered)
            return
        await self.loop.run_in_executor(self.executor, writer.spool_events, events)


def spool() -> Spool:
    return Spool(settings.VAR_DIR / "spool")


_recorder = None


def default_recorder() -> GroupCommitter:
    global _recorder
    if _recorder is None:
        deliver = DatabaseSink() if settings.EMBEDDED else RedisStreamSink(events_redis())
        _recorder = GroupCommitter(DurableWriter(deliver, spool()))
    return _recorder
