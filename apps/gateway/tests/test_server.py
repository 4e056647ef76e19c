"""The production server (apps/gateway/server.py, run as `python -m scarf.serving`)
over raw sockets: keep-alive, pipelining, HTTP/1.0, request bodies (chunked,
`Expect: 100-continue`), streamed answers, its limits, the events its fast
path records, and its processes (a killed worker replaced, a graceful stop).

Each test starts the real server (one worker unless told) on a product with
the every-rule-type manifest imported, plus one docker rule whose registry is
a slow stand-in on loopback: its answer takes REGISTRY_DELAY, long enough to
be the request "in flight" of the pipelining and shutdown tests."""

from __future__ import annotations

import collections
import contextlib
import csv
import http.client
import io
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.accounts.models import ApiToken, Membership, User
from apps.analytics.events import read_stream_events
from apps.analytics.tests.conftest import cli_download, ingest
from apps.api.parsers import BodyTooLarge
from apps.packages.manifests import import_manifest
from scarf.testing import BASE_DIR, ProductionServer

pytestmark = pytest.mark.slow

GATEWAY = "get.acme.test"
DASHBOARD = "localhost"
MAX_BODY = 1000  # MAX_REQUEST_BODY of the servers started here
TOKEN = b"Authorization: Bearer s3cret-token"  # the telemetry rule's token
SKOPEO = b"User-Agent: skopeo/1.14.0"  # a client the docker rules proxy for, never redirect
REGISTRY_DELAY = 1.0
SLOW_MANIFEST = "/v2/acme/slow/manifests/1.0"
MANIFEST_BODY = b'{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}'


# --- a registry that takes its time -------------------------------------------------------


class SlowRegistryHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 - http.server's naming
        self.server.asked.set()
        time.sleep(REGISTRY_DELAY)
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
        self.send_header("Content-Length", str(len(MANIFEST_BODY)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(MANIFEST_BODY)  # the gateway may have given up on it

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        pass


@pytest.fixture
def slow_registry():
    registry = ThreadingHTTPServer(("127.0.0.1", 0), SlowRegistryHandler)
    registry.daemon_threads = True
    registry.asked = threading.Event()
    thread = threading.Thread(target=registry.serve_forever, daemon=True)
    thread.start()
    yield registry
    registry.shutdown()
    registry.server_close()


@pytest.fixture
def product(gateway_server, acme, every_rule_type, slow_registry) -> dict[str, str]:
    """The environment of a server on a product with every rule type and the slow
    registry's image imported, and request bodies limited to MAX_BODY bytes."""
    slow_image = {
        "type": "docker-v1",
        "domain": GATEWAY,
        "package-id": "slow-image",
        "repository-name": "acme/slow",
        "registry": f"http://127.0.0.1:{slow_registry.server_port}",
    }
    import_manifest(acme, {"rules": [*every_rule_type["rules"], slow_image]}, verify_domains=True)
    return {**gateway_server.env, "MAX_REQUEST_BODY": str(MAX_BODY)}


@pytest.fixture
def start_server(product, tmp_path):
    started: list[ProductionServer] = []

    def start(workers: int = 1, **env: str) -> ProductionServer:
        started.append(ProductionServer({**product, **env}, tmp_path, workers))
        return started[-1].start()

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def server(start_server) -> ProductionServer:
    return start_server()


# --- raw HTTP on one socket ---------------------------------------------------------------


def raw(method: str, target: str, host: str, *headers: bytes, version="1.1", body=b"") -> bytes:
    head = [f"{method} {target} HTTP/{version}".encode(), b"Host: " + host.encode(), *headers]
    return b"\r\n".join([*head, b"", b""]) + body


def chunked(*chunks: bytes) -> bytes:
    return b"".join(b"%x\r\n%b\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


class KeptOpen(io.BufferedReader):
    """The socket's one read buffer, which http.client may not close after a
    response: the next response on the connection may already be in it."""

    def close(self):
        pass


class Client:
    """One connection: raw bytes out, responses parsed in turn by http.client
    (which checks the framing: Content-Length, chunked or until the close)."""

    def __init__(self, port: int, timeout: float = 10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = KeptOpen(socket.SocketIO(self.sock, "rb"))

    def makefile(self, *_args, **_kwargs):  # what http.client.HTTPResponse reads through
        return self.file

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response(self, method: str = "GET") -> http.client.HTTPResponse:
        response = http.client.HTTPResponse(self, method=method)
        response.begin()
        response.body = response.read()
        return response

    def closed_by_server(self, within: float = 5.0) -> bool:
        """Whether the server closes the connection within `within` seconds,
        sending nothing more (use last: the socket is spent either way)."""
        self.sock.settimeout(within)
        try:
            return self.file.read(1) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def fields(count: int) -> list[bytes]:
    """`count` header fields, Host included."""
    return [b"X-Field-%d: %d" % (i, i) for i in range(count - 1)]


def summary(response: http.client.HTTPResponse) -> tuple[int, str | None, bytes]:
    return response.status, response.getheader("Location"), response.body


def warm_up(port: int) -> None:
    """A worker loads a host's rules on its first request for it (in a thread);
    after that, its downloads are answered on the event loop."""
    with Client(port) as client:
        client.send(raw("GET", "/install.sh", GATEWAY))
        assert client.response().status == 307


def telemetry_events(redis_db) -> list:
    return [
        event["capture"]["event"]
        for event in read_stream_events(redis_db)
        if event["rule_type"] == "telemetry-v1"
    ]


# --- connections --------------------------------------------------------------------------


def test_http_1_1_keeps_the_connection_while_http_1_0_and_close_end_it(server):
    requests = [
        (GATEWAY, "/install.sh", (307, "https://raw.example.com/acme/install.sh", b"")),
        (DASHBOARD, "/healthz", (200, None, b"ok\n")),
        (
            GATEWAY,
            "/cli/1.2.3/cli.tgz",
            (307, "https://github.com/acme/cli/releases/download/v1.2.3/cli.tgz", b""),
        ),
        (GATEWAY, "/nothing-here", (404, None, b"")),
        (GATEWAY, "/docs/intro", (307, "https://docs.acme.example/intro.html", b"")),
    ]
    with Client(server.port) as client:
        answers = []
        for host, target, _ in requests:
            client.send(raw("GET", target, host))
            response = client.response()
            answers.append((*summary(response), response.getheader("Connection")))
        kept = not client.closed_by_server(within=0.5)

    assert answers == [(*answer, None) for _, _, answer in requests]
    assert kept

    # The rules are loaded now: the downloads below are answered on the event loop.
    ending = [
        (raw("GET", "/install.sh", GATEWAY, version="1.0"), 307),
        (raw("GET", "/healthz", DASHBOARD, version="1.0"), 200),
        (raw("GET", "/install.sh", GATEWAY, b"Connection: close"), 307),
        (raw("GET", "/healthz", DASHBOARD, b"Connection: close"), 200),
    ]
    for request, status in ending:
        with Client(server.port) as client:
            client.send(request)
            response = client.response()

            assert (response.status, response.getheader("Connection")) == (status, "close")
            assert client.closed_by_server(), request


def test_an_upgrade_request_is_answered_as_a_plain_one_then_the_connection_closes(server):
    # httptools raises HttpParserUpgrade after its callbacks ran, and an answer
    # written inside them (the event loop's 404, which records nothing) must
    # already close the connection, or it would hang until the idle time-out.
    warm_up(server.port)
    upgrade = (b"Connection: Upgrade", b"Upgrade: websocket")
    with Client(server.port, timeout=3) as client:
        client.send(raw("GET", "/nothing-here", GATEWAY, *upgrade))
        response = client.response()

        assert response.status == 404
        assert client.closed_by_server(within=3)


def test_pipelined_requests_are_answered_whole_and_in_order(server, redis_db):
    """Sent in one write: the first is proxied to a registry that takes a second,
    so every later one, however fast its own answer, has to wait for it."""
    event = b'{"event":"pipelined"}'
    requests = [
        ("GET", raw("GET", SLOW_MANIFEST, GATEWAY, SKOPEO), (200, None, MANIFEST_BODY)),
        (
            "GET",
            raw("GET", "/install.sh", GATEWAY),
            (307, "https://raw.example.com/acme/install.sh", b""),
        ),
        ("GET", raw("GET", "/healthz", DASHBOARD), (200, None, b"ok\n")),
        ("GET", raw("GET", "/nothing-here", GATEWAY), (404, None, b"")),
        (
            "POST",
            raw(
                "POST",
                "/events",
                GATEWAY,
                TOKEN,
                b"Content-Length: %d" % len(event),
                body=event,
            ),
            (200, None, b""),
        ),
        (
            "HEAD",
            raw("HEAD", "/docs/intro", GATEWAY),
            (307, "https://docs.acme.example/intro.html", b""),
        ),
        (
            "GET",
            raw("GET", "/v2/acme/app/manifests/1.0", GATEWAY, b"User-Agent: docker/27.0"),
            (307, "https://ghcr.io/v2/acme/app/manifests/1.0", b""),
        ),
        ("GET", raw("GET", "/healthz", DASHBOARD), (200, None, b"ok\n")),
    ]

    with Client(server.port) as client:
        client.send(b"".join(request for _, request, _ in requests))
        answers = [summary(client.response(method)) for method, _, _ in requests]
        client.send(raw("GET", "/install.sh", GATEWAY))  # and the connection goes on
        after = summary(client.response())

    assert answers == [answer for _, _, answer in requests]
    assert after[0] == 307
    assert {"event": "pipelined"} in telemetry_events(redis_db)


def test_a_refused_request_does_not_cut_off_the_answer_to_an_earlier_one(server):
    # A pipelined request refused (400, 413, 431) while an earlier one is still
    # being answered: the earlier answer first, then the refusal, then the close.
    with Client(server.port) as client:
        client.send(
            raw("GET", SLOW_MANIFEST, GATEWAY, SKOPEO)
            + raw("GET", "/install.sh", GATEWAY, *fields(101))
        )
        try:
            earlier = summary(client.response())
            refused = client.response().status
        except http.client.RemoteDisconnected:
            earlier = refused = "closed without an answer"

    assert earlier == (200, None, MANIFEST_BODY)
    assert refused == 431


# --- request bodies -----------------------------------------------------------------------


def test_a_chunked_request_body_reaches_the_application_whole(server, redis_db):
    # The body is buffered whole, so the application is given its length
    # (GatewayApp's body reader and Django's WSGIRequest read CONTENT_LENGTH).
    body = b'{"event":"start"}\n{"event":"stop"}'
    with Client(server.port) as client:
        client.send(raw("POST", "/events", GATEWAY, TOKEN, b"Transfer-Encoding: chunked"))
        for part in (body[:7], body[7:20], body[20:]):
            client.send(b"%x\r\n%b\r\n" % (len(part), part))
            time.sleep(0.05)  # the body arrives in several reads
        client.send(b"0\r\n\r\n")
        response = client.response()

    assert response.status == 200
    assert telemetry_events(redis_db) == [{"event": "start"}, {"event": "stop"}]


# --- streamed answers ---------------------------------------------------------------------


@pytest.fixture
def export_token(acme) -> bytes:
    """An Authorization header with a read token of Acme, and three downloads stored."""
    owner = User.objects.create_user("ada@example.com", "correct horse battery")
    Membership.objects.create(user=owner, organisation=acme, role=Membership.OWNER)
    _, secret = ApiToken.issue(acme, owner, name="export", scope=ApiToken.READ)
    ingest([cli_download(acme, version) for version in ("1.0", "2.0", "3.0")])
    return b"Authorization: Bearer " + secret.encode()


EXPORT = "/api/v1/analytics/export.csv"
EXPORTED_PATHS = ["/cli/1.0/cli.tgz", "/cli/2.0/cli.tgz", "/cli/3.0/cli.tgz"]


def exported_paths(body: bytes) -> list[str]:
    return sorted(row["path"] for row in csv.DictReader(io.StringIO(body.decode())))


def test_a_streamed_answer_is_chunked_or_ends_with_the_close_and_has_no_body_for_head(
    server, export_token
):
    with Client(server.port) as client:
        client.send(raw("GET", EXPORT, DASHBOARD, export_token))
        streamed = client.response()
        client.send(raw("HEAD", EXPORT, DASHBOARD, export_token))
        head = client.response("HEAD")
        # Anything of a body after the HEAD's head would be read as this answer.
        client.send(raw("GET", "/healthz", DASHBOARD))
        after = client.response()

    assert streamed.status == 200
    assert streamed.getheader("Content-Type") == "text/csv; charset=utf-8"
    assert streamed.getheader("Transfer-Encoding") == "chunked"
    assert streamed.getheader("Content-Length") is None
    assert exported_paths(streamed.body) == EXPORTED_PATHS
    assert head.status == 200
    assert head.getheader("Content-Disposition") == streamed.getheader("Content-Disposition")
    assert head.getheader("Transfer-Encoding") is None
    assert head.body == b""
    assert summary(after) == (200, None, b"ok\n")

    with Client(server.port) as client:  # HTTP/1.0 knows no chunks: the close ends it
        client.send(raw("GET", EXPORT, DASHBOARD, export_token, version="1.0"))
        old_client = client.response()

        assert old_client.status == 200
        assert old_client.getheader("Transfer-Encoding") is None
        assert old_client.getheader("Connection") == "close"
        assert exported_paths(old_client.body) == EXPORTED_PATHS  # read until the close
        assert client.closed_by_server()


# --- limits -------------------------------------------------------------------------------


def telemetry(size: int) -> bytes:
    """A telemetry event of exactly `size` bytes."""
    event = b'{"event":"%b"}' % (b"x" * (size - 12))
    assert len(event) == size
    return event


def test_heads_past_the_limits_get_431_bodies_413_and_100_continue_comes_first(server, redis_db):
    with Client(server.port) as client:
        client.send(raw("GET", "/install.sh", GATEWAY, *fields(100)))
        hundred = client.response()
        client.send(raw("GET", "/install.sh", GATEWAY, *fields(101)))
        hundred_and_one = client.response()
        hundred_and_one_closed = client.closed_by_server()
    with Client(server.port) as client:
        client.send(raw("GET", "/install.sh", GATEWAY, b"X-Big: " + b"a" * (64 * 1024 - 100)))
        under_64_kib = client.response()
        client.send(raw("GET", "/install.sh", GATEWAY, b"X-Big: " + b"a" * (64 * 1024)))
        over_64_kib = client.response()
        over_64_kib_closed = client.closed_by_server()

    assert hundred.status == 307
    assert (hundred_and_one.status, hundred_and_one.getheader("Connection")) == (431, "close")
    assert hundred_and_one_closed
    assert under_64_kib.status == 307
    assert (over_64_kib.status, over_64_kib.getheader("Connection")) == (431, "close")
    assert over_64_kib_closed

    def post(*headers: bytes, body: bytes = b"") -> bytes:
        return raw("POST", "/events", GATEWAY, TOKEN, *headers, body=body)

    over = telemetry(MAX_BODY + 1)
    with Client(server.port) as client:
        client.send(post(b"Expect: 100-continue", b"Content-Length: %d" % MAX_BODY))
        interim = client.file.readline() + client.file.readline()  # before any body is sent
        client.send(telemetry(MAX_BODY))
        at_limit = client.response()
        client.send(post(b"Content-Length: %d" % len(over), body=over))
        over_limit = client.response()
        over_limit_closed = client.closed_by_server()
    with Client(server.port) as client:
        client.send(post(b"Transfer-Encoding: chunked", body=chunked(over[:600], over[600:])))
        over_limit_chunked = client.response()
    with Client(server.port) as client:  # refused on its head: no 100, no body sent
        client.send(post(b"Expect: 100-continue", b"Content-Length: %d" % (MAX_BODY + 1)))
        announced_over_limit = client.file.read()  # all of it, up to the server's close

    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert at_limit.status == 200
    assert telemetry_events(redis_db) == [{"event": "x" * (MAX_BODY - 12)}]
    assert (over_limit.status, over_limit.getheader("Connection")) == (413, "close")
    assert over_limit_closed
    assert over_limit_chunked.status == 413
    assert announced_over_limit.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in announced_over_limit


def test_a_body_too_large_for_the_api_is_refused_as_the_api_refuses_it(server):
    body = b"x" * (MAX_BODY + 1)
    refused = {}
    for host in (DASHBOARD, GATEWAY):
        with Client(server.port) as client:
            length = b"Content-Length: %d" % len(body)
            client.send(raw("POST", "/api/v1/rules/", host, length, body=body))
            response = client.response()
            refused[host] = (response.status, response.getheader("Content-Type"), response.body)

    assert refused[DASHBOARD][:2] == (413, "application/json")
    assert json.loads(refused[DASHBOARD][2]) == {"detail": BodyTooLarge.default_detail}
    assert refused[GATEWAY] == (413, "text/plain", b"request body too large\n")  # a tenant's path


def test_a_request_head_is_refused_once_past_64_kib_not_when_it_ends(server):
    # httptools hands over a header field only once its line ends, buffering it
    # until then: a line that never ends must still be refused past 64 KiB.
    with Client(server.port, timeout=3) as client:
        client.send(b"GET /install.sh HTTP/1.1\r\nHost: get.acme.test\r\nX-Big: ")
        try:
            for _ in range(64):  # a 1 MiB header line, never ended
                client.send(b"a" * 16384)
        except OSError:
            pass  # refused and closed before all of it was sent
        answer: int | str = "nothing within 3 s"
        try:
            answer = client.response().status
        except (ConnectionResetError, http.client.RemoteDisconnected):
            answer = "closed"  # refused: the 431 may be lost to the reset of unread bytes
        except TimeoutError:
            pass

    assert answer in (431, "closed")


# --- hostile and careless clients ----------------------------------------------------------


def test_a_request_with_two_host_fields_is_refused(server):
    # RFC 9112 §3.2: 400. Routed by either field, the event loop and the
    # application could each have seen a different host for one request.
    warm_up(server.port)
    answers = []
    for first, second in ((GATEWAY, DASHBOARD), (DASHBOARD, GATEWAY), (GATEWAY, GATEWAY)):
        with Client(server.port) as client:
            client.send(raw("GET", "/install.sh", first, b"host: " + second.encode()))
            response = client.response()
            answers.append((response.status, response.getheader("Connection")))
            assert client.closed_by_server()
    with Client(server.port) as client:  # pipelined after a good one: that one is answered first
        client.send(
            raw("GET", "/install.sh", GATEWAY)
            + raw("GET", "/install.sh", GATEWAY, b"Host: " + DASHBOARD.encode())
        )
        pipelined = [client.response().status, client.response().status]

    assert answers == [(400, "close")] * 3
    assert pipelined == [307, 400]


def test_an_absolute_form_target_is_routed_by_its_authority_not_the_host_field(server):
    # RFC 9112 §3.2.2: the target's authority wins over the Host field.
    cases = [
        (
            f"http://{GATEWAY}/install.sh",
            DASHBOARD,
            (307, "https://raw.example.com/acme/install.sh", b""),
        ),
        (f"http://{DASHBOARD}:8000/healthz", GATEWAY, (200, None, b"ok\n")),
        ("http://evil.test/install.sh", GATEWAY, (404, None, b"")),
    ]
    rounds = []
    for _ in range(2):  # first in threads (the rules load), then on the event loop
        with Client(server.port) as client:
            answers = []
            for target, host, _ in cases:
                client.send(raw("GET", target, host))
                answers.append(summary(client.response()))
            rounds.append(answers)

    assert rounds == [[answer for *_, answer in cases]] * 2


def answer_or_close(client: Client) -> tuple[int | str, float]:
    """The status the server answers with (or how it ends the connection), and when."""
    try:
        status: int | str = client.response().status
    except (http.client.RemoteDisconnected, ConnectionResetError):
        status = "closed"
    except TimeoutError:
        status = "nothing"
    return status, time.monotonic()


def test_a_request_body_that_stops_or_only_trickles_is_cut_off(start_server):
    server = start_server(SERVER_BODY_TIMEOUT="1", SERVER_BODY_MIN_RATE="100")
    head = raw("POST", "/events", GATEWAY, TOKEN, b"Content-Length: 1000")
    with Client(server.port, timeout=8) as silent:  # a few bytes, then nothing
        silent.send(head + b'{"ev')
        started = time.monotonic()
        silent_answer, ended = answer_or_close(silent)
        silent_for = ended - started
    with Client(server.port, timeout=8) as trickling:  # a byte every 0.4 s: 2.5 bytes/s
        trickling.send(head)
        started = time.monotonic()
        with contextlib.suppress(OSError):
            for byte in b'{"event":"' + b"x" * 40:
                trickling.send(bytes([byte]))
                if select.select([trickling.sock], [], [], 0.4)[0]:
                    break  # answered or closed
        trickle_answer, ended = answer_or_close(trickling)
        trickled_for = ended - started

    assert silent_answer == 408
    assert 0.9 < silent_for < 3
    assert trickle_answer == 408
    assert trickled_for < 4


def test_thousands_of_requests_pipelined_behind_a_slow_one_are_all_answered(server):
    # Each answered at once on the event loop once the slow one is done:
    # answering them must not recurse once per request.
    warm_up(server.port)
    count = 2000
    with Client(server.port, timeout=20) as client:
        client.send(
            raw("GET", SLOW_MANIFEST, GATEWAY, SKOPEO)
            + raw("GET", "/nothing-here", GATEWAY) * count
        )
        first = summary(client.response())
        rest = collections.Counter(client.response().status for _ in range(count))
        client.send(raw("GET", "/healthz", DASHBOARD))
        after = client.response().status

    assert first == (200, None, MANIFEST_BODY)
    assert rest == {404: count}
    assert after == 200
    assert "Traceback" not in server.output()


def test_ten_thousand_requests_in_one_write_are_all_answered(server):
    # A read that ends partway through a request head is not all head bytes:
    # no 431 for a head of 40 bytes.
    warm_up(server.port)
    count = 10_000
    statuses: collections.Counter = collections.Counter()
    with Client(server.port, timeout=20) as client:

        def send_all() -> None:
            with contextlib.suppress(OSError):
                client.send(raw("GET", "/nothing-here", GATEWAY) * count)

        sender = threading.Thread(target=send_all)
        sender.start()
        try:
            for _ in range(count):
                statuses[client.response().status] += 1
        except (http.client.HTTPException, OSError) as error:
            statuses[type(error).__name__] += 1
        sender.join()

    assert statuses == {404: count}


def test_requests_sent_before_the_client_closes_its_side_are_all_answered(server):
    warm_up(server.port)
    with Client(server.port) as client:
        client.send(
            raw("GET", SLOW_MANIFEST, GATEWAY, SKOPEO)
            + raw("GET", "/install.sh", GATEWAY)
            + raw("GET", "/healthz", DASHBOARD)
        )
        client.sock.shutdown(socket.SHUT_WR)
        answers = [client.response().status for _ in range(3)]

        assert answers == [200, 307, 200]
        assert client.closed_by_server()


def resident_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmRSS:", 1)[1].split()[0])


def flood(sock: socket.socket, request: bytes, seconds: float) -> int:
    """Send `request` over and over for `seconds`, as much as the server takes
    (reading nothing); how many bytes it took."""
    sock.setblocking(False)
    requests = request * 1000
    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if select.select([], [sock], [], 0.1)[1]:
            with contextlib.suppress(BlockingIOError):
                sent += sock.send(requests)
    return sent


def never_reading(port: int) -> socket.socket:
    """A connection whose client reads nothing (and keeps its receive buffer small)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    return sock


def test_a_client_that_never_reads_its_answers_is_not_read_either(server):
    # Answers on the event loop wait for the client once a connection has
    # enough of them waiting; its requests wait in the kernel, not in the worker.
    warm_up(server.port)
    (worker,) = workers(server.process.pid)
    before = resident_kib(worker)
    with never_reading(server.port) as sock:
        sent = flood(sock, raw("GET", "/nothing-here", GATEWAY), seconds=8)
        grown = resident_kib(worker) - before

    assert sent < 16 * 2**20
    assert grown < 32 * 1024


def test_clients_that_never_read_cannot_take_the_threads(start_server):
    # Six clients pipeline requests for a 200 KB static file and read nothing:
    # the two threads must not wait on them.
    server = start_server(SERVER_THREADS="2")
    static = raw("GET", "/static/vendor/chart.umd.min.js", DASHBOARD)
    hogs = [never_reading(server.port) for _ in range(6)]
    try:
        for hog in hogs:
            hog.sendall(static * 40)
        time.sleep(2)
        answers = []
        for host, target in (
            (DASHBOARD, "/healthz"),
            (DASHBOARD, "/accounts/login/"),
            (GATEWAY, "/install.sh"),
        ):
            with Client(server.port, timeout=5) as canary:
                canary.send(raw("GET", target, host))
                answers.append(answer_or_close(canary)[0])
    finally:
        for hog in hogs:
            hog.close()

    assert answers == [200, 200, 307]


def test_a_write_the_client_does_not_read_frees_its_thread_after_the_write_timeout(start_server):
    # An answer larger than the write buffer waits for its client: 2 s at most.
    server = start_server(SERVER_THREADS="1", SERVER_WRITE_BUFFER="16384", SERVER_WRITE_TIMEOUT="2")
    with never_reading(server.port) as hog:
        hog.sendall(raw("GET", "/static/vendor/chart.umd.min.js", DASHBOARD) * 40)
        time.sleep(1)  # past what the kernel's buffers hold, its thread waits for it
        started = time.monotonic()
        with Client(server.port, timeout=10) as canary:
            canary.send(raw("GET", "/healthz", DASHBOARD))
            answer, answered = answer_or_close(canary)
        hog.settimeout(5)
        try:
            while hog.recv(65536):
                pass
            hog_closed = True
        except ConnectionResetError:
            hog_closed = True
        except TimeoutError:
            hog_closed = False

    assert answer == 200
    assert answered - started < 4
    assert hog_closed


def test_past_max_connections_the_connections_idle_longest_make_room(start_server):
    server = start_server(SERVER_MAX_CONNECTIONS="20")
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(30)]
    try:
        with Client(server.port, timeout=5) as canary:
            canary.send(raw("GET", "/healthz", DASHBOARD))
            answer = answer_or_close(canary)[0]
        time.sleep(0.5)
        closed = [i for i, sock in enumerate(idle) if select.select([sock], [], [], 0)[0]]
    finally:
        for sock in idle:
            sock.close()

    assert answer == 200
    assert closed == list(range(11))  # room for ten of them and the canary


# --- recording ----------------------------------------------------------------------------


def test_every_download_answered_is_recorded_before_its_answer(server, redis_db):
    sent = []
    for connection in range(3):
        with Client(server.port) as client:
            for request in range(4):
                path = f"/cli/{connection}.{request}/cli.tgz"
                agent = f"curl/8.{connection}.{request}"
                client.send(raw("GET", path, GATEWAY, b"User-Agent: " + agent.encode()))
                assert client.response().status == 307
                sent.append((path, agent))
                assert len(read_stream_events(redis_db)) == len(sent)  # recorded first
    with Client(server.port) as client:  # pipelined: recorded as one batch
        batch = [(f"/cli/9.{i}/cli.tgz", f"pipelining-client/{i}") for i in range(5)]
        client.send(
            b"".join(
                raw("GET", path, GATEWAY, b"User-Agent: " + agent.encode()) for path, agent in batch
            )
        )
        assert [client.response().status for _ in batch] == [307] * 5
        sent += batch

    events = read_stream_events(redis_db)

    assert sorted((event["path"], event["user_agent"]) for event in events) == sorted(sent)
    assert len({event["id"] for event in events}) == len(sent)


# --- processes ----------------------------------------------------------------------------


def workers(master: int) -> set[int]:
    """The live child processes of `master` (a dead one, not yet reaped, is not)."""
    found = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            about = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if int(about.get("PPid", "0")) == master and not about["State"].startswith("Z"):
            found.add(int(status.parent.name))
    return found


def test_a_killed_worker_is_replaced_and_sigterm_lets_the_request_in_flight_finish(
    start_server, slow_registry
):
    server = start_server(workers=2)
    master = server.process.pid
    deadline = time.monotonic() + 10
    while len(first := workers(master)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(first) == 2
    killed = min(first)

    os.kill(killed, signal.SIGKILL)
    while killed in workers(master) and time.monotonic() < deadline:
        time.sleep(0.01)
    # While the master replaces it, every new connection is answered: by the
    # other worker, or, queued on the dead worker's listening socket (the
    # master keeps it open), by its replacement; none is reset.
    answers = []
    while len(now := workers(master)) < 2 and time.monotonic() < deadline:
        with Client(server.port) as client:
            client.send(raw("GET", "/install.sh", GATEWAY))
            answers.append(client.response().status)
        time.sleep(0.02)

    assert killed not in now
    assert len(now) == 2
    assert answers
    assert set(answers) == {307}

    with Client(server.port) as idle, Client(server.port) as busy:
        idle.send(raw("GET", "/healthz", DASHBOARD))
        assert idle.response().status == 200
        busy.send(raw("GET", SLOW_MANIFEST, GATEWAY, SKOPEO))
        assert slow_registry.asked.wait(5)

        server.process.send_signal(signal.SIGTERM)
        in_flight = busy.response()
        code = server.process.wait(timeout=10)

        assert summary(in_flight) == (200, None, MANIFEST_BODY)
        assert busy.closed_by_server()
        assert idle.closed_by_server()
    assert code == 0
    assert workers(master) == set()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_connections_a_killed_worker_had_not_accepted_are_answered_by_its_replacement(
    start_server,
):
    # Each worker listens on a socket of its own (SO_REUSEPORT): connections
    # the kernel gave a worker wait in that socket's queue until it accepts
    # them. A stopped worker accepts none; once it is killed, its replacement
    # must answer them (a socket closed with its worker would reset them all).
    server = start_server(workers=2)
    master = server.process.pid
    deadline = time.monotonic() + 10
    while len(first := workers(master)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped = min(first)
    os.kill(stopped, signal.SIGSTOP)
    clients = []
    try:
        for _ in range(20):
            clients.append(Client(server.port, timeout=30))
            clients[-1].send(raw("GET", "/install.sh", GATEWAY))
        time.sleep(1.0)  # the running worker answers its share meanwhile
        readable, _, _ = select.select([client.sock for client in clients], [], [], 0)
    finally:
        os.kill(stopped, signal.SIGKILL)

    answers = [client.response().status for client in clients]
    for client in clients:
        client.close()

    assert len(readable) < len(clients)  # some waited for the stopped worker
    assert answers == [307] * len(clients)


def test_sigterm_under_hostile_clients_lets_the_request_in_flight_finish_then_stops(
    start_server, slow_registry
):
    # Clients that never read, a head and a body that never end, an idle
    # connection: none of them holds the stop for the grace period (30 s).
    server = start_server()
    warm_up(server.port)
    hostile = [never_reading(server.port) for _ in range(3)]
    for sock in hostile:
        flood(sock, raw("GET", "/nothing-here", GATEWAY), seconds=1)
    slow = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(3)]
    slow[0].sendall(b"GET /install.sh HTTP/1.1\r\nHost: get.acme.test\r\nX-Slow: ")
    slow[1].sendall(raw("POST", "/events", GATEWAY, TOKEN, b"Content-Length: 100") + b"{")
    try:
        with Client(server.port) as busy:
            busy.send(raw("GET", SLOW_MANIFEST, GATEWAY, SKOPEO))
            assert slow_registry.asked.wait(5)
            server.process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            in_flight = summary(busy.response())
            code = server.process.wait(timeout=40)
            stopped_after = time.monotonic() - signalled
    finally:
        for sock in hostile + slow:
            sock.close()

    assert in_flight == (200, None, MANIFEST_BODY)
    assert code == 0
    assert stopped_after < 8


def test_sigterm_under_load_finishes_the_requests_in_flight_and_cuts_no_answer_short(
    start_server, slow_registry
):
    # Clients keep downloading on kept-alive connections while the stop comes:
    # each answer they get is whole (a connection is closed between answers,
    # never within one), the slow request in flight finishes, and the server
    # stops once it has, not at the end of the grace period (60 s).
    server = start_server(workers=2, SERVER_SHUTDOWN_GRACE="60")
    warm_up(server.port)
    outcomes = collections.Counter()
    lock = threading.Lock()

    def keep_downloading() -> None:
        while server.process.poll() is None:
            try:
                with Client(server.port) as client:
                    while True:
                        client.send(raw("GET", "/install.sh", GATEWAY))
                        outcome = client.response().status
                        with lock:
                            outcomes[outcome] += 1
            except (http.client.RemoteDisconnected, ConnectionError):
                pass  # closed between answers, or refused once stopping
            except http.client.HTTPException as error:  # an answer cut short
                with lock:
                    outcomes[type(error).__name__] += 1

    loaders = [threading.Thread(target=keep_downloading) for _ in range(6)]
    for loader in loaders:
        loader.start()
    deadline = time.monotonic() + 30
    while not outcomes and time.monotonic() < deadline:
        time.sleep(0.05)  # the load is on before the stop comes
    try:
        with Client(server.port) as busy:
            busy.send(raw("GET", SLOW_MANIFEST, GATEWAY, SKOPEO))
            assert slow_registry.asked.wait(5)
            before = sum(outcomes.values())
            server.process.send_signal(signal.SIGTERM)
            in_flight = summary(busy.response())
            code = server.process.wait(timeout=30)
    finally:
        for loader in loaders:
            loader.join(timeout=30)

    assert in_flight == (200, None, MANIFEST_BODY)
    assert code == 0
    assert before > 0
    assert set(outcomes) == {307}


def test_sigterm_while_a_worker_is_being_replaced_stops_every_worker(start_server):
    # The master waits half a second before replacing a dead worker: a stop
    # then must not start a worker that nothing stops.
    server = start_server()
    master = server.process.pid
    deadline = time.monotonic() + 10
    while not (first := workers(master)) and time.monotonic() < deadline:
        time.sleep(0.05)
    (worker,) = first

    os.kill(worker, signal.SIGKILL)
    time.sleep(0.1)
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        code = "still running"
    left = workers(master)
    for pid in left:
        os.kill(pid, signal.SIGTERM)

    assert code == 0
    assert left == set()


def test_a_second_server_on_a_port_already_served_does_not_start(server):
    # Workers bind with SO_REUSEPORT, which would let a second server (an old
    # instance left running, a typo in PORT) share the port silently.
    second = subprocess.Popen(
        [sys.executable, "-m", "scarf.serving"],
        cwd=BASE_DIR,
        env={**server.env, "PORT": str(server.port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        code = second.wait(timeout=30)  # starting Django takes seconds on a busy machine
    except subprocess.TimeoutExpired:
        code = None  # still running: it is serving on the port too
    finally:
        if second.poll() is None:
            second.terminate()
            second.wait(timeout=10)

    assert code not in (None, 0)
