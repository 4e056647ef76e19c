"""Upstream documents: fetched once, cached, followed through redirects, served
stale when the upstream fails (against a real HTTP server on loopback)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache
from django.test import override_settings

from apps.gateway.upstream import fetch_document


class Upstream(BaseHTTPRequestHandler):
    """/moved → 302 to /pages/index.html; /pages/index.html → the page (or 503 when failing)."""

    hits: list[str]
    failing = False

    def do_GET(self):
        self.hits.append(self.path)
        if self.failing:
            self.send_response(503)
            self.end_headers()
        elif self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/pages/index.html")
            self.end_headers()
        else:
            body = f"page {len(self.hits)}".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def upstream():
    handler = type("Handler", (Upstream,), {"hits": [], "failing": False})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    cache.clear()
    yield handler, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_fresh_document_is_fetched_once(upstream):
    handler, base = upstream

    first = fetch_document(base + "/pages/index.html")
    second = fetch_document(base + "/pages/index.html")

    assert first.body == second.body == b"page 1"
    assert handler.hits == ["/pages/index.html"]


def test_redirects_are_followed_and_the_final_url_is_kept(upstream):
    _, base = upstream

    document = fetch_document(base + "/moved")

    assert document.status == 200
    assert document.url == base + "/pages/index.html"


@override_settings(UPSTREAM_CACHE_TTL=0)
def test_a_failing_upstream_gets_the_last_good_copy_marked_stale(upstream):
    handler, base = upstream
    fetch_document(base + "/pages/index.html")
    handler.failing = True

    document = fetch_document(base + "/pages/index.html")

    assert document.body == b"page 1"
    assert document.stale is True


def test_a_failing_upstream_with_nothing_cached_gives_none(upstream):
    handler, base = upstream
    handler.failing = True

    assert fetch_document(base + "/pages/index.html") is None


@override_settings(UPSTREAM_CONNECT_TIMEOUT=0.5)
def test_an_unreachable_upstream_gives_none():
    cache.clear()

    assert fetch_document("http://127.0.0.1:1/simple/x/") is None
