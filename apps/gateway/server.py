"""The production HTTP server: downloads answered on an event loop, everything else in threads.

A download's answer is usually decided already (routing.Routes remembers
decisions), so what it costs is HTTP framing and making its event durable
before the answer leaves. Stock servers spend that in the wrong places:
granian's WSGI threads must each block until their event is written, and
every hand-off between threads costs more than the work. Here llhttp
(httptools) parses, uvloop runs the sockets, and each process answers such
requests on its loop: their events join one batch per loop iteration, the
batch goes to Redis in one write (recording.AsyncGroupCommitter; in
embedded mode, `manage.py serve`, to the database in one transaction), and
the answers are written when the store confirms it.

Everything else — dashboard and API hosts, a host not yet in the routing
table, an answer that proxies or fetches, a request with a body — runs the
WSGI application (scarf.wsgi) in a pool of threads, with the raw request
target as RAW_URI. Each connection answers its requests in order, one at a
time. What one client can make a worker hold, and for how long, is bounded
(Limits: the SERVER_* settings), so a slow or hostile client costs only its
own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import os
import re
import resource
import signal
import socket
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from email.utils import formatdate
from urllib.parse import unquote_to_bytes

import httptools

from .app import (
    STATUS_TEXT,
    BadRequest,
    GatewayApp,
    build_request,
    is_health_probe,
    normalise_host,
    response_fields,
    split_target,
)
from .edge import ASK_PATH
from .engine.outcome import Fetch, Proxy, Redirect, Respond, not_found
from .recording import AsyncGroupCommitter, stamp_events

log = logging.getLogger(__name__)

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
STOP_PATIENCE = 2.0  # on a stop, answers nobody reads are dropped after this (seconds)
ROOM_SEARCH = 64  # connections looked at for one to close at max_connections
FILES_KEPT = 256  # file descriptors kept for the database, Redis, upstreams
ANSWERS_PER_TURN = 64  # pipelined requests answered at once before other connections' turn
FEED_SLICE = 4096  # parsed at a time, so a full queue stops the parser within one slice
MAX_RENDERED = 16384  # encoded responses kept per worker
ASK_TARGET = ASK_PATH.encode() + b"?"
INTERNAL_ERROR = b"internal error"


@dataclass(frozen=True)
class Limits:
    """What one client may make a worker hold, and for how long: the SERVER_*
    settings and MAX_REQUEST_BODY (README, "Production shape")."""

    max_head: int  # request line and header fields, bytes (431)
    max_headers: int  # header fields (431)
    max_body: int  # a request body, bytes (413)
    max_pipelined: int  # parsed requests waiting their turn on a connection
    max_connections: int  # per worker; past it, the connection idle longest is closed
    write_buffer: int  # answers waiting for the client: past it, nothing more is answered
    head_timeout: float  # a request head must arrive whole within this
    body_timeout: float  # longest silence within a request body
    body_min_rate: float  # bytes a second a body must average once body_timeout has passed
    write_timeout: float  # answers a client reads none of are dropped after this
    keepalive_timeout: float  # an idle connection is closed after this
    shutdown_grace: float  # on SIGTERM, requests in flight get this long to finish

    @classmethod
    def from_settings(cls) -> Limits:
        from django.conf import settings

        return cls(
            max_head=settings.SERVER_MAX_HEAD,
            max_headers=settings.SERVER_MAX_HEADERS,
            max_body=settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
            max_pipelined=settings.SERVER_MAX_PIPELINED,
            max_connections=max(1, min(settings.SERVER_MAX_CONNECTIONS, open_files() - FILES_KEPT)),
            write_buffer=settings.SERVER_WRITE_BUFFER,
            head_timeout=settings.SERVER_HEAD_TIMEOUT,
            body_timeout=settings.SERVER_BODY_TIMEOUT,
            body_min_rate=settings.SERVER_BODY_MIN_RATE,
            write_timeout=settings.SERVER_WRITE_TIMEOUT,
            keepalive_timeout=settings.SERVER_KEEPALIVE_TIMEOUT,
            shutdown_grace=settings.SERVER_SHUTDOWN_GRACE,
        )


class Message:
    """One parsed request."""

    __slots__ = ("method", "target", "headers", "body", "keep_alive", "version", "size")

    def __init__(self):
        self.target = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []


class Connection(asyncio.Protocol):
    """One client connection: requests parsed as they arrive and answered in
    order, one at a time. What a client can make it hold is bounded: parsed
    requests waiting for their turn (max_pipelined, or max_body bytes of
    them), input read but not parsed (one read, while the queue is full), and
    answers the client has not read (write_buffer: past it, nothing more is
    answered until the client reads)."""

    def __init__(self, server: Server):
        self.server = server
        self.limits = server.limits
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.message: Message | None = None
        self.queue: deque[Message] = deque()
        self.queued_bytes = 0  # heads and bodies of the requests in the queue
        self.held = b""  # read, not parsed yet: the queue was full
        self.busy = False  # a request is being answered
        self.answering = False  # _answer_queued is running
        self.answered_in_turn = 0  # requests answered since this turn began
        self.waiting_turn = False  # ANSWERS_PER_TURN of them: the rest wait for the next round
        self.write_paused = False  # answers past the high-water mark wait for the client
        self.input_done = False  # nothing more is parsed (an upgrade, a refusal, the client's end)
        self.closing = False
        self.refusal: tuple[int, bytes, bytes] | None = None  # why the parser was stopped
        self.head_size = 0  # bytes of the head's fields, as parsed
        self.head_pending = 0  # bytes of slices wholly within an incomplete head
        self.body_size = 0
        self.head_started = 0.0  # when the head in progress began (0: none is)
        self.body_started = 0.0  # when the body in progress began
        self.body_last = 0.0  # when the last of it arrived
        self.served = False  # a request was answered (before: the first is awaited)
        self.last_active = time.monotonic()
        self.written = 0  # bytes handed to the transport
        self.sent = 0  # of which the client had taken this many at the last look
        self.write_progress = self.last_active  # when it last took some
        self.drained: list[Future] = []  # threads waiting for the client to read

    # --- asyncio ----------------------------------------------------------------------

    def connection_made(self, transport):
        self.transport = transport
        transport.set_write_buffer_limits(high=self.limits.write_buffer)
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else ""
        if not self.server.admit(self):
            self.abort()

    def connection_lost(self, exc):
        self.closing = True
        self.server.connections.pop(self, None)
        self._release_writers()

    def eof_received(self):
        """The client closed its side: answer what it sent, then close."""
        self.input_done = True
        if self.busy or self.queue or self.held:
            return True  # keep the transport open to write the answers
        return None

    def pause_writing(self):
        self.write_paused = True

    def resume_writing(self):
        self.write_paused = False
        self._release_writers()
        self._answer_queued()

    def data_received(self, data: bytes):
        if self.closing:
            return
        self.last_active = time.monotonic()
        self.server.connections.move_to_end(self)  # the last to make room for others
        if not self.waiting_turn:
            self.answered_in_turn = 0  # a read: a turn of its own
        if self.held:  # read while reading was being paused: parsed after the rest
            self.held += data
            return
        self._feed(data)

    def _feed(self, data: bytes) -> None:
        """Parse `data` a slice at a time, holding back the rest (and reading
        no more) once the queue is full."""
        for start in range(0, len(data), FEED_SLICE):
            if self.input_done or self.closing:
                return
            if self._queue_full():
                self.held = data[start:]
                self.transport.pause_reading()
                return
            piece = data[start : start + FEED_SLICE]
            head = self.message if self.head_started else None  # begun in an earlier slice
            try:
                self.parser.feed_data(piece)
            except httptools.HttpParserUpgrade:
                self.input_done = True  # answered as a plain request, then closed
                self.transport.pause_reading()
                return
            except httptools.HttpParserError:
                self._fail(*(self.refusal or (400, b"malformed request")))
                return
            if head is not None and self.message is head and self.head_started:
                # All of this slice is the head's (httptools buffers a field
                # line until it ends): a line that never ends still counts.
                self.head_pending += len(piece)
                if self.head_pending > self.limits.max_head:
                    self._fail(431, b"request head too large")

    def _queue_full(self) -> bool:
        limits = self.limits
        return len(self.queue) >= limits.max_pipelined or self.queued_bytes >= limits.max_body

    # --- httptools ------------------------------------------------------------------------

    def on_message_begin(self):
        self.message = Message()
        self.head_size = 0
        self.head_pending = 0
        self.body_size = 0
        self.head_started = self.last_active

    def on_url(self, url: bytes):
        self.message.target += url
        self._grow_head(len(url))

    def on_header(self, name: bytes, value: bytes):
        headers = self.message.headers
        if name.lower() == b"host" and any(other.lower() == b"host" for other, _ in headers):
            self._refuse(400, b"more than one Host field")  # RFC 9112 §3.2: which one counts?
        headers.append((name, value))
        self._grow_head(len(name) + len(value) + 4)
        if len(headers) > self.limits.max_headers:
            self._refuse(431, b"too many header fields")

    def on_headers_complete(self):
        message = self.message
        message.method = self.parser.get_method().decode("ascii", "replace")
        message.version = self.parser.get_http_version()
        message.keep_alive = self.parser.should_keep_alive() and not self.parser.should_upgrade()
        self.head_started = 0.0
        self.body_started = self.body_last = self.last_active
        if message.method not in ("GET", "HEAD"):
            self._expect_body(message)

    def _expect_body(self, message: Message) -> None:
        """Refuse a body announced too large before it is sent; otherwise
        answer `Expect: 100-continue` (only when no earlier answer is due:
        the interim answer must not come before it)."""
        fields = {name.lower(): value for name, value in message.headers}
        length = fields.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limits.max_body:
            self._refuse_body(message)
        continues = fields.get(b"expect", b"").lower() == b"100-continue"
        if continues and message.version == "1.1" and not self.busy and not self.queue:
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes):
        self.body_size += len(body)
        self.body_last = self.last_active
        if self.body_size > self.limits.max_body:
            self._refuse_body(self.message)
        self.message.body.append(body)

    def on_message_complete(self):
        message, self.message = self.message, None
        message.size = self.head_size + self.body_size
        self.queue.append(message)
        self.queued_bytes += message.size
        self._answer_queued()

    # --- answering ------------------------------------------------------------------------

    def _grow_head(self, size: int) -> None:
        self.head_size += size
        if self.head_size > self.limits.max_head:
            self._refuse(431, b"request head too large")

    def _refuse(self, status: int, reason: bytes, content_type: bytes = b"text/plain") -> None:
        """Stop the parser: the request is answered `status` (once the answers
        before it are out), and the connection closed."""
        self.refusal = (status, reason, content_type)
        raise httptools.HttpParserError(reason.decode())

    def _refuse_body(self, message: Message) -> None:
        """413; for the dashboard's API in its JSON errors' shape, as Django
        answers it behind gunicorn (apps/api/parsers.py)."""
        host = next((value for name, value in message.headers if name.lower() == b"host"), b"")
        api = message.target.startswith(b"/api/")
        if api and normalise_host(host.decode("latin-1")) in self.server.dashboard_hosts:
            self._refuse(413, BODY_TOO_LARGE_JSON, b"application/json")
        else:
            self._refuse(413, b"request body too large")

    def _answer_queued(self) -> None:
        """Answer the queued requests in turn while the client reads its
        answers, parse what was held back once the queue has room, then answer
        the refusal that stopped the parser, if any, or read on. A loop, not a
        recursion: an answer given at once calls done(), which calls this again.
        ANSWERS_PER_TURN requests answered in one turn (a read, or the round
        after the last turn), then the other connections have theirs: the
        rest wait for the loop's next round."""
        if self.answering:
            return  # from an answer given, or a request parsed, in the loop below
        self.answering = True
        try:
            while not self.closing:
                if self.queue and not self.busy and not self.write_paused and not self.waiting_turn:
                    if self.answered_in_turn == ANSWERS_PER_TURN:
                        self.waiting_turn = True
                        self.server.loop.call_soon(self._next_turn)
                        break
                    self.answered_in_turn += 1
                    message = self.queue.popleft()
                    self.queued_bytes -= message.size
                    self.busy = True
                    self.server.answer(self, message)
                elif self.held and not self._queue_full():
                    data, self.held = self.held, b""
                    self._feed(data)
                else:
                    break
        finally:
            self.answering = False
        if self.closing or self.held:
            return
        if not self.busy and not self.queue and self.refusal is not None:
            self._fail(*self.refusal)  # the answers before it are out: now the refusal
        elif not self.busy and not self.queue and self.input_done:
            self.closing = True  # the client's end, and every answer given
            self.transport.close()
        elif not self.input_done:
            self.transport.resume_reading()

    def _next_turn(self) -> None:
        self.waiting_turn = False
        self.answered_in_turn = 0
        self._answer_queued()

    def finish(self, data: bytes, keep_alive: bool) -> None:
        """Write a whole response and go on with the next request (loop thread)."""
        if self.closing:
            return
        self.write(data)
        self.done(keep_alive)

    def write(self, data: bytes) -> None:
        self.written += len(data)
        self.transport.write(data)

    def write_from_thread(self, data: bytes, drained: Future | None) -> None:
        """Write part of a response a thread streams; `drained` is resolved once
        the client has read enough of what waits (ClientGone if it never will)."""
        if self.closing:
            if drained is not None:
                drained.set_exception(ClientGone())
            return
        self.write(data)
        if drained is not None:
            self.drained.append(drained)
            if not self.write_paused:
                self._release_writers()

    def _release_writers(self) -> None:
        drained, self.drained = self.drained, []
        for future in drained:
            if self.closing:
                future.set_exception(ClientGone())
            else:
                future.set_result(None)

    def abort(self) -> None:
        """Close at once, dropping what the client has not read."""
        self.closing = True
        self.transport.abort()

    def can_make_room(self) -> bool:
        """Nothing is being answered, waits to be, or waits for the client to read it."""
        return not (
            self.closing or self.busy or self.queue or self.transport.get_write_buffer_size()
        )

    def write_stalled(self, now: float, patience: float) -> bool:
        """Whether answers have waited `patience` seconds for a client that
        reads none of them."""
        sent = self.written - self.transport.get_write_buffer_size()
        if sent > self.sent or sent == self.written:
            self.sent, self.write_progress = sent, now
        return now - self.write_progress > patience

    def done(self, keep_alive: bool) -> None:
        self.busy = False
        self.served = True
        self.last_active = time.monotonic()
        if not keep_alive or self.server.stopping:
            self.closing = True
            self.transport.close()
            return
        self._answer_queued()

    def _fail(self, status: int, reason: bytes, content_type: bytes = b"text/plain") -> None:
        if self.closing:
            return
        self.transport.pause_reading()
        self.input_done = True
        self.held = b""
        if self.busy or self.queue:
            self.refusal = (status, reason, content_type)  # answered after the requests before it
            return
        self.closing = True
        self.write(plain_response(status, reason, keep_alive=False, content_type=content_type))
        self.transport.close()

    def check_deadlines(self, now: float) -> None:
        """Once a second (Server.tick): end what the client has let lapse.
        Answers nobody reads are dropped; a request that arrives too slowly is
        answered 408: its head must come whole within head_timeout, its body
        with no silence of body_timeout and, past that, body_min_rate bytes a
        second on average; an idle connection is closed after
        keepalive_timeout (head_timeout before its first request)."""
        if self.write_stalled(now, self.limits.write_timeout):
            self.abort()
            return
        if self.closing or self.held or self.input_done:
            return  # held: the wait is ours, not the client's
        limits = self.limits
        if self.message is not None:
            if self.head_started:
                late = now - self.head_started > limits.head_timeout
            else:
                late = now - self.body_last > limits.body_timeout or (
                    now - self.body_started
                    > limits.body_timeout + self.body_size / limits.body_min_rate
                )
            if late:
                self._fail(408, b"request timeout")
        elif not self.busy and not self.queue:
            idle = limits.keepalive_timeout if self.served else limits.head_timeout
            if now - self.last_active > idle:
                self.closing = True
                self.transport.close()


class Server:
    """One worker process's loop: the fast path, the thread pool, the committer."""

    def __init__(self, wsgi_application, gateway: GatewayApp, dashboard_hosts, threads: int):
        self.application = wsgi_application
        self.gateway = gateway
        self.dashboard_hosts = frozenset(normalise_host(host) for host in dashboard_hosts)
        self.limits = Limits.from_settings()
        self.threads = ThreadPoolExecutor(threads, thread_name_prefix="wsgi")
        # Least recently active first: those idle longest make room at max_connections.
        self.connections: OrderedDict[Connection, None] = OrderedDict()
        self.stopping = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.committer: AsyncGroupCommitter | None = None
        self.date = b""  # the Date field line, set every second
        self._rendered: dict[int, tuple] = {}
        self.server_name = ("", "0")
        self.access_log: AccessLog | None = None

    def admit(self, connection: Connection) -> bool:
        """Count a new connection in. At max_connections, the connection idle
        longest (of the ROOM_SEARCH idle longest, one that is answering nothing)
        is closed to make room; False when none can."""
        connections = self.connections
        if len(connections) >= self.limits.max_connections:
            candidates = itertools.islice(connections, ROOM_SEARCH)
            idle = next((c for c in candidates if c.can_make_room()), None)
            if idle is None:
                return False
            del connections[idle]
            idle.abort()
        connections[connection] = None
        return True

    # --- the fast path --------------------------------------------------------------------

    def answer(self, connection: Connection, message: Message) -> None:
        try:
            answered = self.answer_on_loop(connection, message)
        except Exception:
            log.exception("gateway failed on a request")
            self.reply(connection, message, Respond(503))
            return
        if not answered:
            self.threads.submit(self.run_wsgi, connection, message)

    def answer_on_loop(self, connection: Connection, message: Message) -> bool:
        """Answer here when the answer is known without I/O; False hands the
        request to the thread pool."""
        if message.method not in ("GET", "HEAD") or message.body:
            return False  # answers that may read a body are the application's
        headers = tuple(
            (header_name(name), value.decode("latin-1")) for name, value in message.headers
        )
        gateway = self.gateway
        try:
            request = build_request(
                message.method,
                message.target.decode("latin-1"),
                headers,
                peer=connection.peer,
                scheme="http",
                trusted_proxies=gateway.trusted_proxies,
            )
        except BadRequest:
            return False  # the WSGI path answers it, the same way on every server
        if request.host in self.dashboard_hosts or is_health_probe(request.host, request.raw_path):
            return False  # the WSGI path's, HostDispatcher's
        cached = gateway.table.cached(request.host)
        if cached is None:
            return False  # loading it may block: a thread does it
        routes = cached[1]
        if routes is None:
            if message.target.startswith(ASK_TARGET):
                return False  # perhaps the edge's question (HostDispatcher)
            response = not_found(request).response
            gateway.counters.count(response.status, "")
            self.reply(connection, message, response)
            return True
        decision = routes.decide(request)
        response = decision.outcome.response
        if isinstance(response, Fetch | Proxy):
            return False
        gateway.counters.count(response.status, decision.outcome.rule_type or "")
        if not decision.events:
            self.reply(connection, message, response)
            return True

        def answer(error: BaseException | None) -> None:
            if error is None:
                self.reply(connection, message, response)
            else:
                log.error("download not recorded, answered 503: %s", error)
                self.reply(connection, message, Respond(503))

        self.committer.record(stamp_events(decision.events, request), answer)
        return True

    def reply(self, connection: Connection, message: Message, response: Redirect | Respond):
        """Answer on the loop and go on with the connection's next request."""
        if self.access_log is not None and not connection.closing:
            bodyless = isinstance(response, Redirect) or message.method == "HEAD"
            size = 0 if bodyless else len(response.body)
            self.access_log.answered(connection, message, response.status, size)
        connection.finish(self.render(response, message), message.keep_alive)

    def render(self, response: Redirect | Respond, message: Message) -> bytes:
        """The response's bytes. A remembered decision answers with the same
        response object every time, so its encoding is kept (with the object,
        so that a new object at a reused id is never mistaken for it)."""
        rendered = self._rendered.get(id(response))
        if rendered is None or rendered[0] is not response:
            status, headers, body = response_fields(response)
            fields = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
            rendered = (response, b"HTTP/1.1 " + status.encode("latin-1") + b"\r\n", fields, body)
            if len(self._rendered) >= MAX_RENDERED:
                self._rendered.clear()
            self._rendered[id(response)] = rendered
        _, status_line, fields, body = rendered
        connection = connection_field(message.keep_alive, message.version)
        head = status_line + self.date + fields + connection + b"\r\n"
        return head if message.method == "HEAD" else head + body

    # --- the WSGI path ----------------------------------------------------------------------

    def run_wsgi(self, connection: Connection, message: Message) -> None:
        """In a pool thread: run the WSGI application, stream its answer."""
        writer = ResponseWriter(self, connection, message)
        try:
            result = self.application(self.environ(connection, message), writer.start_response)
            try:
                for chunk in result:
                    writer.write(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            writer.end()
        except ClientGone:
            writer.abort()
        except Exception:
            log.exception("application failed on %s %r", message.method, message.target)
            writer.abort()

    def environ(self, connection: Connection, message: Message) -> dict:
        target = message.target.decode("latin-1")
        path, _, query = split_target(target)[1].partition("?")
        environ = {
            "REQUEST_METHOD": message.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "RAW_URI": target,
            "SERVER_NAME": self.server_name[0],
            "SERVER_PORT": self.server_name[1],
            "SERVER_PROTOCOL": f"HTTP/{message.version}",
            "REMOTE_ADDR": connection.peer,
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b"".join(message.body)),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        for name, value in message.headers:
            key = name.decode("latin-1").upper().replace("-", "_")
            if "_" in name.decode("latin-1"):
                continue  # X_Forwarded_For must not pass for X-Forwarded-For
            key = key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key
            text = value.decode("latin-1")
            environ[key] = f"{environ[key]},{text}" if key in environ else text
        if environ.pop("HTTP_TRANSFER_ENCODING", None) is not None:
            environ["CONTENT_LENGTH"] = str(sum(map(len, message.body)))
        return environ

    # --- the process --------------------------------------------------------------------------

    def tick(self) -> None:
        """Once a second: the Date header, and each connection's deadlines."""
        self.date = b"Date: " + formatdate(usegmt=True).encode("ascii") + b"\r\n"
        if self.access_log is not None:
            self.access_log.tick()
        now = time.monotonic()
        for connection in list(self.connections):
            connection.check_deadlines(now)
        self.loop.call_later(1.0, self.tick)

    async def serve(self, listener: socket.socket) -> None:
        self.loop = asyncio.get_running_loop()
        self.committer = AsyncGroupCommitter.for_settings(self.loop)
        host, port = listener.getsockname()[:2]
        self.server_name = (str(host), str(port))
        self.gateway.start_helpers()
        self.tick()
        server = await self.loop.create_server(
            lambda: Connection(self), sock=listener, backlog=2048
        )
        stopped = asyncio.Event()
        for signum in STOP_SIGNALS:
            self.loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
        await self.shut_down(server)

    async def shut_down(self, server) -> None:
        """Stop accepting, let the requests being answered finish and their
        answers be read, then close everything: within shutdown_grace. A
        connection answering nothing is closed (requests still queued on it
        go unanswered, as after any close); one whose client has read nothing
        of its answers for STOP_PATIENCE is cut off."""
        self.stopping = True
        server.close()
        deadline = time.monotonic() + self.limits.shutdown_grace
        while True:
            now = time.monotonic()
            for connection in list(self.connections):
                if now > deadline or connection.write_stalled(now, STOP_PATIENCE):
                    connection.abort()
                elif not connection.busy and not connection.closing:
                    connection.closing = True
                    connection.transport.close()
            if now > deadline or (not self.connections and self.committer.idle()):
                break
            await asyncio.sleep(0.05)
        self.threads.shutdown(wait=False, cancel_futures=True)


class ClientGone(ConnectionError):
    """The client closed its connection while its response was being written."""


class ResponseWriter:
    """A WSGI response written from a pool thread to the connection's loop:
    Content-Length when the application gives one, chunked otherwise (HTTP/1.1).
    The thread hands over write_buffer bytes without waiting (most answers
    whole: a slow reader holds no thread for them); past that, it waits for
    the client to read (write_timeout at most, then the connection is closed
    and the thread is free)."""

    def __init__(self, server: Server, connection: Connection, message: Message):
        self.loop = server.loop
        self.server = server
        self.connection = connection
        self.message = message
        self.head: bytes | None = None
        self.sent_head = False
        self.chunked = False
        self.keep_alive = message.keep_alive
        self.no_body = message.method == "HEAD"
        self.unconfirmed = 0  # bytes handed over since the client was last seen reading
        self.status = 500
        self.body_size = 0  # for the access log

    def start_response(self, status: str, headers: list, exc_info=None):
        if exc_info is not None and self.sent_head:
            raise exc_info[1].with_traceback(exc_info[2])
        names = {name.lower() for name, _ in headers}
        code = self.status = int(status.split(" ", 1)[0])
        lines = [f"HTTP/1.1 {status}\r\n".encode("latin-1"), self.server.date]
        lines += [f"{name}: {value}\r\n".encode("latin-1") for name, value in headers]
        bodyless = code < 200 or code in (204, 304)
        if "content-length" not in names and not bodyless:
            if self.message.version == "1.1":
                self.chunked = not self.no_body
                if self.chunked:
                    lines.append(b"Transfer-Encoding: chunked\r\n")
            else:
                self.keep_alive = False
        if bodyless:
            self.no_body = True
        lines.append(connection_field(self.keep_alive, self.message.version))
        self.head = b"".join(lines) + b"\r\n"
        return self.write

    def write(self, data: bytes) -> None:
        if self.head is None:
            raise RuntimeError("write() before start_response()")
        out = b""
        if not self.sent_head:
            out, self.sent_head = self.head, True
        if data and not self.no_body:
            self.body_size += len(data)
            out += b"%x\r\n%b\r\n" % (len(data), data) if self.chunked else data
        if out:
            self._send(out)

    def end(self) -> None:
        self.write(b"")
        tail = b"0\r\n\r\n" if self.chunked else b""
        self.loop.call_soon_threadsafe(self._finish, tail)

    def abort(self) -> None:
        if self.sent_head:
            self.keep_alive = False
            self.loop.call_soon_threadsafe(self._finish, b"")
        else:
            self.status, self.body_size = 500, len(INTERNAL_ERROR) + 1  # and its newline
            response = plain_response(500, INTERNAL_ERROR, self.keep_alive)
            self.loop.call_soon_threadsafe(self._finish, response)

    def _send(self, data: bytes) -> None:
        connection = self.connection
        if connection.closing:
            raise ClientGone
        self.unconfirmed += len(data)
        if self.unconfirmed < self.server.limits.write_buffer:
            self.loop.call_soon_threadsafe(connection.write_from_thread, data, None)
            return
        self.unconfirmed = 0
        drained = Future()
        self.loop.call_soon_threadsafe(connection.write_from_thread, data, drained)
        try:
            drained.result(timeout=self.server.limits.write_timeout)
        except TimeoutError:
            self.loop.call_soon_threadsafe(connection.abort)
            raise ClientGone from None

    def _finish(self, tail: bytes) -> None:
        if self.connection.closing:
            return
        if self.server.access_log is not None:
            self.server.access_log.answered(
                self.connection, self.message, self.status, self.body_size
            )
        self.connection.finish(tail, self.keep_alive)


class AccessLog:
    """A line per answer on `stream`, in gunicorn's default access log format
    (`%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"`), what
    the client sent escaped. Lines are added on the loop and written once
    per loop iteration, all together: a write each would cost the fast path
    a system call per request."""

    def __init__(self, stream):
        self.stream = stream
        self.lines: list[str] = []
        self.time = ""
        self.tick()

    def tick(self) -> None:
        self.time = time.strftime("[%d/%b/%Y:%H:%M:%S +0000]", time.gmtime())

    def answered(self, connection: Connection, message: Message, status: int, size: int) -> None:
        referer = user_agent = b"-"
        for name, value in message.headers:
            lower = name.lower()
            if lower == b"referer":
                referer = value
            elif lower == b"user-agent":
                user_agent = value
        request = b"%s %s HTTP/%s" % (
            message.method.encode("latin-1"),
            message.target,
            message.version.encode("latin-1"),
        )
        if not self.lines:
            asyncio.get_running_loop().call_soon(self.flush)
        self.lines.append(
            f"{connection.peer} - - {self.time} {escaped(request)} {status} {size} "
            f"{escaped(referer)} {escaped(user_agent)}\n"
        )

    def flush(self) -> None:
        lines, self.lines = self.lines, []
        with contextlib.suppress(OSError, ValueError):  # stdout closed: no log, still answers
            self.stream.write("".join(lines))
            self.stream.flush()


def escaped(value: bytes) -> str:
    """`value` quoted for a log line: control characters, quotes, backslashes
    and bytes past ASCII escaped, so a client cannot forge or split lines."""
    if _NEEDS_ESCAPE.search(value) is None:  # the usual case: nothing to escape
        return '"' + value.decode("ascii") + '"'
    text = value.decode("latin-1").encode("unicode_escape").decode("ascii")
    return '"' + text.replace('"', '\\"') + '"'


_NEEDS_ESCAPE = re.compile(rb"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def connection_field(keep_alive: bool, version: str) -> bytes:
    """What an answer says of the connection: HTTP/1.1 keeps it by default,
    HTTP/1.0 closes it unless told otherwise."""
    if not keep_alive:
        return b"Connection: close\r\n"
    return b"Connection: keep-alive\r\n" if version == "1.0" else b""


# What the API answers a body too large behind gunicorn (apps/api/parsers.py's BodyTooLarge).
BODY_TOO_LARGE_JSON = b'{"detail":"The request body is larger than the server accepts."}'


def plain_response(
    status: int, reason: bytes, keep_alive: bool, content_type: bytes = b"text/plain"
) -> bytes:
    head = f"HTTP/1.1 {status} {STATUS_TEXT.get(status, 'Error')}\r\n".encode("latin-1")
    close = b"" if keep_alive else b"Connection: close\r\n"
    body = reason + b"\n"
    return (
        head
        + close
        + b"Content-Type: %b\r\nContent-Length: %d\r\n\r\n%b"
        % (
            content_type,
            len(body),
            body,
        )
    )


_header_names: dict[bytes, str] = {}


def header_name(raw: bytes) -> str:
    """b"User-Agent" -> "user-agent", remembered (a few dozen names recur)."""
    name = _header_names.get(raw)
    if name is None:
        name = raw.decode("latin-1").lower()
        if len(_header_names) < 1000:
            _header_names[raw] = name
    return name


# --- processes ------------------------------------------------------------------------------


def run_worker(listener: socket.socket, threads: int, options: ServeOptions) -> None:
    import uvloop
    from django.conf import settings

    from scarf.wsgi import application, gateway_application

    if options.worker_started is not None:
        options.worker_started()
    server = Server(application, gateway_application, settings.DASHBOARD_HOSTS, threads)
    if options.access_log:
        server.access_log = AccessLog(sys.stdout)
    uvloop.run(server.serve(listener))


def open_files(raise_to_hard_limit: bool = False) -> int:
    """The process's limit on open files (each connection is one), first
    raised to the hard limit when asked: the usual soft limit of 1,024 would
    cap a worker far below what it can serve."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if raise_to_hard_limit and soft != hard:
        wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
    return soft


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket of one worker's own on the shared port (SO_REUSEPORT): the
    kernel spreads new connections evenly over the workers. With one socket
    shared by every worker, the busiest worker, awake already, accepted
    nearly all of them (64 of 64 in the benchmark) while the others idled.
    The master opens it and keeps it open: connections the kernel queued on
    it wait there for the worker's replacement when the worker dies (closed
    with the worker, its queue would be reset)."""
    listener = socket.create_server((host, port), backlog=2048, reuse_port=True)
    listener.setblocking(False)
    return listener


@dataclass(frozen=True)
class ServeOptions:
    access_log: bool = False  # a line per answer on stdout, in gunicorn's format
    worker_started: Callable[[], None] | None = None  # run in each worker before it serves


def serve(
    host: str, port: int, workers: int, threads: int, options: ServeOptions = ServeOptions()
) -> None:
    """Start `workers` processes (Django is loaded once, before forking),
    each on a listening socket of its own, start again any that dies (on the
    same socket); SIGTERM stops all."""
    from django.db import connections

    socket.create_server((host, port)).close()  # taken, even with SO_REUSEPORT: fail here
    open_files(raise_to_hard_limit=True)  # the workers inherit it
    connections.close_all()
    listeners = [listening_socket(host, port) for _ in range(workers)]
    children: dict[int, socket.socket] = {}  # worker -> its listening socket
    stopping = False

    def spawn(listener: socket.socket) -> None:
        """Start a worker on `listener`, unless stopping: a stop is held off
        until it is counted among the children, so it is stopped with them."""
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            if stopping:
                return
            pid = os.fork()
            if pid == 0:
                for signum in STOP_SIGNALS:
                    signal.signal(signum, signal.SIG_DFL)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
                for other in listeners:
                    if other is not listener:
                        other.close()
                code = 0
                try:
                    run_worker(listener, threads, options)
                except BaseException:
                    log.exception("worker failed")
                    code = 1
                finally:
                    os._exit(code)
            children[pid] = listener
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        for listener in listeners:
            listener.close()  # the workers' copies close as they stop
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    for signum in STOP_SIGNALS:
        signal.signal(signum, stop)
    for listener in listeners:
        spawn(listener)
    log.info("serving on http://%s:%d/ with %d workers", host, port, workers)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        listener = children.pop(pid, None)
        if not stopping and listener is not None:
            log.warning("worker %d exited (%s); starting another", pid, status)
            time.sleep(0.5)
            spawn(listener)
