"""The registry proxy against a real HTTP server on loopback that records what it receives."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings

from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Proxy
from apps.gateway.proxy import proxy_request
from scarf.ports import free_port

CLIENT_IP = "203.0.113.7"
MANIFEST = "/v2/acme/app/manifests/1.0"


@dataclass(frozen=True)
class Reply:
    """What the stand-in registry answers for one path."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0
    chunked: bool = False
    hang_up: bool = False


@dataclass(frozen=True)
class Received:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


class RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self):
        upstream = self.server.upstream
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        upstream.received.append(Received(self.command, self.path, self.headers.items(), body))
        reply = upstream.routes.get(self.path, Reply(404))
        if reply.hang_up:
            self.close_connection = True
            return
        upstream.stopping.wait(reply.delay)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        body = (
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(reply.body), reply.body)
            if reply.chunked
            else reply.body
        )
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            upstream.cut_off.set()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # the proxy hanging up on a slow answer is expected


@dataclass
class Upstream:
    """A registry stand-in: answers from `routes`, records every request it gets."""

    routes: dict[str, Reply] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    cut_off: threading.Event = field(default_factory=threading.Event)  # a body's reader hung up

    def start(self) -> Upstream:
        self.server = QuietServer(("127.0.0.1", 0), RecordingHandler)
        self.server.upstream = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def upstream():
    server = Upstream().start()
    yield server
    server.stop()


@pytest.fixture
def other_upstream():
    server = Upstream().start()
    yield server
    server.stop()


def request(target: str, method: str = "GET", headers: tuple = ()) -> Request:
    path, mark, query = target.partition("?")
    return Request(
        method=method,
        host="get.acme.test",
        raw_path=path,
        raw_query=query if mark else None,
        headers=(("host", "get.acme.test"), *headers),
        client_ip=CLIENT_IP,
        scheme="http",
    )


def proxy(upstream: Upstream, target: str, method: str = "GET", headers: tuple = ()):
    """Proxy one request and read the whole answer, as the WSGI server would."""
    response = proxy_request(
        request(target, method, headers), Proxy(f"http://127.0.0.1:{upstream.port}")
    )
    chunks = list(response.body)
    if hasattr(response.body, "close"):
        response.body.close()
    return response, chunks


def header(response, name: str) -> list[str]:
    return [value for key, value in response.headers if key.lower() == name.lower()]


def test_the_registry_gets_the_client_s_method_path_and_query(upstream):
    upstream.routes["/v2/acme/app/tags/list?n=5&last=a%2Fb"] = Reply(200, body=b"{}")
    response, chunks = proxy(upstream, "/v2/acme/app/tags/list?n=5&last=a%2Fb")
    assert (response.status, response.status_line, b"".join(chunks)) == (200, "200 OK", b"{}")
    assert [(r.method, r.target) for r in upstream.received] == [
        ("GET", "/v2/acme/app/tags/list?n=5&last=a%2Fb")
    ]
    assert response.target == upstream.url + "/v2/acme/app/tags/list?n=5&last=a%2Fb"


def test_exactly_one_x_forwarded_for_holds_the_client_ip(upstream):
    proxy(upstream, MANIFEST, headers=(("x-forwarded-for", "198.51.100.1, 10.0.0.1"),))
    assert upstream.received[0].values("X-Forwarded-For") == [CLIENT_IP]


def test_the_registry_is_asked_for_the_identity_encoding(upstream):
    proxy(upstream, MANIFEST, headers=(("accept-encoding", "gzip, br"),))
    assert upstream.received[0].values("Accept-Encoding") == ["identity"]


def test_no_request_body_is_forwarded_nor_described(upstream):
    headers = (
        ("content-length", "5"),
        ("content-encoding", "gzip"),
        ("transfer-encoding", "chunked"),
    )
    proxy(upstream, MANIFEST, headers=headers)
    received = upstream.received[0]
    assert received.body == b""
    assert received.values("Content-Length") == []
    assert received.values("Content-Encoding") == []
    assert received.values("Transfer-Encoding") == []


def test_host_and_hop_by_hop_headers_stay_with_the_gateway(upstream):
    headers = (
        ("connection", "keep-alive, x-private-hop"),
        ("keep-alive", "timeout=5"),
        ("x-private-hop", "1"),
        ("proxy-authorization", "Basic c2VjcmV0"),
        ("te", "trailers"),
        ("upgrade", "h2c"),
        ("x-request-id", "abc"),
    )
    proxy(upstream, MANIFEST, headers=headers)
    received = upstream.received[0]
    assert received.values("Host") == [f"127.0.0.1:{upstream.port}"]
    for name in ("Keep-Alive", "X-Private-Hop", "Proxy-Authorization", "TE", "Upgrade"):
        assert received.values(name) == [], name
    assert received.values("X-Request-Id") == ["abc"]


def test_authorization_and_every_accept_line_are_forwarded(upstream):
    headers = (
        ("authorization", "Bearer token-123"),
        ("accept", "application/vnd.oci.image.manifest.v1+json"),
        ("accept", "application/vnd.docker.distribution.manifest.v2+json"),
        ("user-agent", "skopeo/1.9.3"),
    )
    proxy(upstream, MANIFEST, headers=headers)
    received = upstream.received[0]
    assert received.values("Authorization") == ["Bearer token-123"]
    assert received.values("Accept") == [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
    assert received.values("User-Agent") == ["skopeo/1.9.3"]


def test_a_redirect_within_v2_is_followed_inside_the_proxy(upstream):
    digest_path = "/v2/acme/app/manifests/sha256:abc"
    upstream.routes[MANIFEST] = Reply(307, (("Location", digest_path),))
    upstream.routes[digest_path] = Reply(200, (("Docker-Content-Digest", "sha256:abc"),), b"{}")
    response, chunks = proxy(upstream, MANIFEST, headers=(("authorization", "Bearer t"),))
    assert (response.status, b"".join(chunks)) == (200, b"{}")
    assert header(response, "Docker-Content-Digest") == ["sha256:abc"]
    assert response.target == upstream.url + digest_path
    assert [r.target for r in upstream.received] == [MANIFEST, digest_path]
    assert upstream.received[1].values("Authorization") == ["Bearer t"]


def test_an_absolute_v2_redirect_to_another_registry_is_followed(upstream, other_upstream):
    upstream.routes[MANIFEST] = Reply(302, (("Location", other_upstream.url + MANIFEST),))
    other_upstream.routes[MANIFEST] = Reply(200, body=b"mirror")
    response, chunks = proxy(upstream, MANIFEST, method="HEAD")
    assert response.status == 200
    assert chunks == []
    assert [(r.method, r.target) for r in other_upstream.received] == [("HEAD", MANIFEST)]


def test_a_storage_redirect_goes_back_to_the_client_without_a_body(upstream):
    blob = "/v2/acme/app/blobs/sha256:abc"
    signed = "https://storage.example/blobs/abc?signature=x"
    upstream.routes[blob] = Reply(307, (("Location", signed),), b"<a>redirect</a>")
    response, chunks = proxy(upstream, blob)
    assert (response.status, response.status_line) == (307, "307 Temporary Redirect")
    assert header(response, "Location") == [signed]
    assert header(response, "Content-Length") == []
    assert b"".join(chunks) == b""
    assert len(upstream.received) == 1


def test_a_relative_redirect_outside_v2_is_made_absolute(upstream):
    blob = "/v2/acme/app/blobs/sha256:abc"
    upstream.routes[blob] = Reply(302, (("Location", "/storage/abc"),))
    response, _ = proxy(upstream, blob)
    assert header(response, "Location") == [upstream.url + "/storage/abc"]


@pytest.mark.parametrize("status", [301, 303, 308])
def test_only_302_and_307_are_followed(upstream, status):
    upstream.routes[MANIFEST] = Reply(status, (("Location", "/v2/acme/app/manifests/2.0"),))
    response, _ = proxy(upstream, MANIFEST)
    assert response.status == status
    assert header(response, "Location") == [upstream.url + "/v2/acme/app/manifests/2.0"]
    assert len(upstream.received) == 1


def test_after_ten_followed_redirects_the_last_one_is_returned(upstream):
    upstream.routes[MANIFEST] = Reply(307, (("Location", MANIFEST),))
    response, _ = proxy(upstream, MANIFEST)
    assert response.status == 307
    assert header(response, "Location") == [upstream.url + MANIFEST]
    assert len(upstream.received) == 11


def test_an_auth_challenge_passes_through_untouched(upstream):
    challenge = (
        'Bearer realm="https://auth.example/token",service="reg",scope="repository:acme/app:pull"'
    )
    body = b'{"errors":[{"code":"UNAUTHORIZED"}]}'
    upstream.routes[MANIFEST] = Reply(401, (("WWW-Authenticate", challenge),), body)
    response, chunks = proxy(upstream, MANIFEST)
    assert (response.status, response.status_line) == (401, "401 Unauthorized")
    assert header(response, "WWW-Authenticate") == [challenge]
    assert b"".join(chunks) == body


def test_the_ping_answers_as_the_registry_does(upstream):
    upstream.routes["/v2/"] = Reply(
        200, (("Docker-Distribution-Api-Version", "registry/2.0"),), b"{}"
    )
    response, chunks = proxy(upstream, "/v2/")
    assert (response.status, b"".join(chunks)) == (200, b"{}")
    assert header(response, "Docker-Distribution-Api-Version") == ["registry/2.0"]


def test_the_registry_s_date_and_server_give_way_to_ours(upstream):
    upstream.routes[MANIFEST] = Reply(200, body=b"{}")
    response, _ = proxy(upstream, MANIFEST)
    assert header(response, "Date") == []
    assert header(response, "Server") == []
    assert header(response, "Content-Length") == ["2"]


def test_a_large_body_is_streamed_in_chunks_byte_for_byte(upstream):
    blob = os.urandom(1024 * 1024)
    upstream.routes["/v2/acme/app/blobs/sha256:big"] = Reply(200, body=blob)
    response, chunks = proxy(upstream, "/v2/acme/app/blobs/sha256:big")
    assert len(chunks) > 1
    assert b"".join(chunks) == blob
    assert header(response, "Content-Length") == [str(len(blob))]


def test_a_chunked_body_is_relayed_without_the_upstream_s_framing(upstream):
    upstream.routes[MANIFEST] = Reply(200, body=b'{"schemaVersion":2}', chunked=True)
    response, chunks = proxy(upstream, MANIFEST)
    assert b"".join(chunks) == b'{"schemaVersion":2}'
    assert header(response, "Transfer-Encoding") == []


def test_a_body_compressed_anyway_passes_unchanged_with_its_encoding(upstream):
    compressed = gzip.compress(b"layer bytes")
    upstream.routes[MANIFEST] = Reply(200, (("Content-Encoding", "gzip"),), compressed)
    response, chunks = proxy(upstream, MANIFEST)
    assert b"".join(chunks) == compressed
    assert header(response, "Content-Encoding") == ["gzip"]


def test_head_answers_headers_only(upstream):
    upstream.routes[MANIFEST] = Reply(200, (("Docker-Content-Digest", "sha256:abc"),), b"{}")
    response, chunks = proxy(upstream, MANIFEST, method="HEAD")
    assert upstream.received[0].method == "HEAD"
    assert chunks == []
    assert header(response, "Content-Length") == ["2"]
    assert header(response, "Docker-Content-Digest") == ["sha256:abc"]


def test_a_body_closed_early_hangs_up_on_the_registry_instead_of_reading_on(upstream):
    blob = "/v2/acme/app/blobs/sha256:big"
    upstream.routes[blob] = Reply(200, body=b"x" * (64 * 1024 * 1024))
    response = proxy_request(request(blob), Proxy(upstream.url))
    next(iter(response.body))
    started = time.monotonic()
    response.body.close()
    assert time.monotonic() - started < 1
    assert upstream.cut_off.wait(5)


@pytest.mark.parametrize("method", ["PUT", "POST", "PATCH", "DELETE"])
def test_only_pulls_reach_the_registry(upstream, method):
    response, chunks = proxy(upstream, MANIFEST, method=method)
    assert response.status == 405
    assert header(response, "Allow") == ["GET, HEAD"]
    assert json.loads(b"".join(chunks))["errors"][0]["code"] == "UNSUPPORTED"
    assert upstream.received == []


def oci_error(response, chunks) -> str:
    assert (response.status, response.status_line) == (502, "502 Bad Gateway")
    assert header(response, "Content-Type") == ["application/json"]
    (error,) = json.loads(b"".join(chunks))["errors"]
    assert set(error) == {"code", "message", "detail"}
    return error["code"]


def test_an_unreachable_registry_answers_502_with_an_oci_error():
    response = proxy_request(request(MANIFEST), Proxy(f"http://127.0.0.1:{free_port()}"))
    assert oci_error(response, list(response.body)) == "UNAVAILABLE"
    assert response.target.endswith(MANIFEST)


def test_a_registry_that_hangs_up_answers_502_with_an_oci_error(upstream):
    upstream.routes[MANIFEST] = Reply(hang_up=True)
    response, chunks = proxy(upstream, MANIFEST)
    assert oci_error(response, chunks) == "UNAVAILABLE"


@override_settings(UPSTREAM_READ_TIMEOUT=0.5)
def test_a_slow_registry_answers_502_once_the_read_time_out_passes(upstream):
    upstream.routes[MANIFEST] = Reply(200, body=b"late", delay=10)
    started = time.monotonic()
    response, chunks = proxy(upstream, MANIFEST)
    assert oci_error(response, chunks) == "UNAVAILABLE"
    assert 0.5 <= time.monotonic() - started < 2
