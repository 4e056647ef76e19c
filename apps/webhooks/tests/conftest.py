import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.accounts.models import Organisation, User
from apps.packages.services import Actor
from apps.webhooks.services import create_webhook


class Receiver:
    """A real HTTP endpoint on 127.0.0.1 that answers with `statuses` in turn
    (the last one from then on) and keeps every request it got."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.requests: list[tuple[dict, bytes]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/gateway?team=1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append((dict(self.headers), body, self.path))
                index = min(len(receiver.requests), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
                answer = b"busy, try later" if status >= 500 else b"ok"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *args):
                pass

        return Handler

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _headers, body, _path in self.requests]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    started = Receiver()
    yield started
    started.stop()


@pytest.fixture
def private_urls_allowed(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


@pytest.fixture
def ada(db):
    return User.objects.create_user("ada@example.com", "correct horse battery")


@pytest.fixture
def acme(ada):
    return Organisation.create_for(ada, "Acme")


@pytest.fixture
def actor(ada):
    return Actor(user=ada)


@pytest.fixture
def webhook(acme, actor, receiver, private_urls_allowed):
    events = ["backend.health_changed", "migration_check.finished", "downloads.daily_summary"]
    return create_webhook(acme, actor, receiver.url, events)
