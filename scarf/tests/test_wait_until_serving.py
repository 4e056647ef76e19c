"""scarf.testing.wait_until_serving: a server is ready only when it answers as expected."""

import http.server
import subprocess
import sys
import threading

import pytest

from scarf.testing import wait_until_serving


class NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def other_server():
    """A server answering every request with 404 (a registry holding the
    port the process under test wanted)."""
    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def process():
    """A process that is alive and serves nothing."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield sleeper
    sleeper.kill()
    sleeper.wait()


def test_another_servers_answer_is_not_taken_as_ready(other_server, process):
    with pytest.raises(TimeoutError, match=r"did not answer \(200,\)"):
        wait_until_serving(other_server + "/healthz", process, timeout=1)


def test_an_expected_answer_is_ready(other_server, process):
    wait_until_serving(other_server + "/healthz", process, timeout=5, statuses=(404,))


def test_a_process_that_exits_is_an_error(other_server):
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    exited.wait()

    with pytest.raises(RuntimeError, match="exited with 3"):
        wait_until_serving(other_server + "/healthz", exited, timeout=5)
