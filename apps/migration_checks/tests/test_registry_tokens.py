"""Registries that want a token even for anonymous pulls (Docker Hub, ghcr.io)
are read with the pull token their Bearer challenge points to."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.migration_checks.backends import BackendDescription
from apps.migration_checks.inventory import Scope, read
from apps.migration_checks.transport import Unreachable

TOKEN = "anonymous-pull-token"
DIGEST = "sha256:" + "ab" * 32


class TokenRegistry:
    """/v2/... answers 401 with a Bearer challenge unless the request carries
    the token /token hands out (for the challenged scope only)."""

    def __init__(self, hand_out: bool = True):
        self.seen: list[str] = []
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                registry.seen.append(self.path)
                if self.path.startswith("/token?"):
                    granted = hand_out and "scope=repository%3Aacme%2Fapp%3Apull" in self.path
                    self.answer(200, {"token": TOKEN} if granted else {})
                elif self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    challenge = (
                        f'Bearer realm="{registry.url}/token",service="test",'
                        'scope="repository:acme/app:pull"'
                    )
                    self.answer(401, {"errors": []}, {"WWW-Authenticate": challenge})
                elif self.path.startswith("/v2/acme/app/tags/list"):
                    self.answer(200, {"name": "acme/app", "tags": ["1.0"]})
                else:
                    self.answer(404, {"errors": []})

            def do_HEAD(self):
                authorised = self.headers.get("Authorization") == f"Bearer {TOKEN}"
                self.send_response(200 if authorised else 401)
                self.send_header("Docker-Content-Digest", DIGEST)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def answer(self, status, data, headers=None):
                body = json.dumps(data).encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def image_on(registry: TokenRegistry) -> BackendDescription:
    return BackendDescription(
        {
            "type": "docker-v1",
            "domain": "get.acme.test",
            "package-id": "app",
            "repository-name": "acme/app",
            "registry": registry.url,
        }
    )


@pytest.fixture
def registry():
    started = TokenRegistry()
    yield started
    started.stop()


def test_an_anonymous_pull_token_is_fetched_from_the_challenges_realm(registry):
    assert read(image_on(registry), Scope()) == {"acme/app:1.0": DIGEST}
    assert sum(path.startswith("/token?") for path in registry.seen) == 1


def test_a_realm_that_hands_out_no_token_fails_the_check():
    registry = TokenRegistry(hand_out=False)
    try:
        with pytest.raises(Unreachable, match="no anonymous pull token"):
            read(image_on(registry), Scope())
    finally:
        registry.stop()
