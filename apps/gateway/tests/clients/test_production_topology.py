"""The production topology behind the TLS edge: the dashboard (gunicorn) and the
gateway (`python -m scarf.serving`) as separate processes, each reached through
Caddy by host; the dashboard HTTPS-only; a tenant domain HTTPS-only on request.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import statistics
import threading
import time
from datetime import UTC, datetime

import pytest

from apps.accounts.models import ApiToken, Membership, User
from apps.gateway.tests.clients.test_file_clients import RELEASE_BYTES, Backend, write
from apps.gateway.tests.clients.test_file_clients import manifest as file_manifest
from apps.gateway.tests.clients.test_tls_edge import clean_environment, run
from apps.gateway.tests.conftest import DASHBOARD, DOMAIN, Edge
from apps.gateway.tests.test_tls_ask import eventually
from apps.packages.manifests import import_manifest
from apps.packages.models import Domain
from apps.packages.services import SYSTEM, set_https_only

pytestmark = pytest.mark.slow

DOWNLOAD = "/cli/1.2.3/acme-cli.tar.gz"


@pytest.fixture
def files(tmp_path, acme):
    root = tmp_path / "files"
    write(root / "releases/v1.2.3/acme-cli.tar.gz", RELEASE_BYTES)
    backend = Backend(root)
    import_manifest(acme, file_manifest(backend.url), verify_domains=True)
    yield backend
    backend.stop()


class EdgeConnection(http.client.HTTPSConnection):
    """HTTPS to the edge on loopback for `host` (its SNI and Host), keep-alive."""

    def __init__(self, edge: Edge, host: str, timeout: float = 10):
        context = ssl.create_default_context(cafile=str(edge.root))
        super().__init__(host, edge.caddy.https_port, timeout=timeout, context=context)

    def connect(self):
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def curl_head(edge: Edge, url: str) -> str:
    result = run(
        ["curl", "-q", "-sS", "-o", "/dev/null", "-D", "-", "--cacert", str(edge.root)]
        + [*edge.resolve(DASHBOARD), *edge.resolve(), url],
        env=clean_environment(),
    )
    return result.stdout


def test_the_dashboard_and_the_gateway_are_separate_processes(edge, files):
    connection = EdgeConnection(edge, DASHBOARD)
    connection.request("GET", "/accounts/login/")
    assert connection.getresponse().status == 200
    connection.close()

    assert edge.dashboard.process.pid != edge.gateway.process.pid
    # gunicorn writes its access log line after the answer has gone out.
    deadline = time.monotonic() + 10
    while "/accounts/login/" not in edge.dashboard.output() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "/accounts/login/" in edge.dashboard.output()  # gunicorn's access log
    assert "/accounts/login/" not in edge.gateway.output()


def test_the_dashboard_redirects_plain_http_and_sends_hsts_and_secure_cookies(edge):
    redirect = curl_head(edge, edge.http_url("/accounts/login/?next=/", DASHBOARD))
    page = curl_head(edge, edge.url("/accounts/login/", DASHBOARD))

    assert redirect.startswith("HTTP/1.1 308")
    location = edge.url("/accounts/login/?next=/", DASHBOARD)
    assert f"location: {location}\n" in redirect.lower()
    assert page.startswith("HTTP/2 200")
    assert "strict-transport-security: max-age=31536000; includesubdomains; preload" in (
        page.lower()
    )
    cookie = next(line for line in page.splitlines() if line.lower().startswith("set-cookie:"))
    assert "; secure" in cookie.lower()


def test_an_https_only_domain_redirects_plain_http_and_serves_https(edge, files, tmp_path):
    set_https_only(Domain.objects.get(hostname=DOMAIN), SYSTEM, True)
    location = edge.url(DOWNLOAD + "?a=1")

    def redirected() -> bool:
        head = curl_head(edge, edge.http_url(DOWNLOAD + "?a=1"))
        return head.startswith("HTTP/1.1 308") and f"location: {location}\n" in head.lower()

    deadline = time.monotonic() + 2
    while not redirected():
        assert time.monotonic() < deadline, "the gateway did not pick up HTTPS only"
        time.sleep(0.1)
    out = tmp_path / "release.tgz"
    run(
        ["curl", "-q", "-sSfL", "--cacert", str(edge.root), *edge.resolve(), "-o", str(out)]
        + [edge.http_url(DOWNLOAD)],
        env=clean_environment(),
    )
    assert out.read_bytes() == RELEASE_BYTES


def timed_downloads(edge: Edge, count: int) -> list[float]:
    connection = EdgeConnection(edge, DOMAIN)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        connection.request("GET", DOWNLOAD)
        response = connection.getresponse()
        response.read()
        times.append(time.perf_counter() - started)
        assert response.status == 307
    connection.close()
    return times


def held_upload(edge: Edge) -> ssl.SSLSocket:
    """A sign-in whose body never finishes: it holds a gunicorn thread (with
    an origin and a CSRF cookie, Django reads the form for the token)."""
    context = ssl.create_default_context(cafile=str(edge.root))
    raw = socket.create_connection(("127.0.0.1", edge.caddy.https_port), timeout=30)
    tls = context.wrap_socket(raw, server_hostname=DASHBOARD)
    tls.sendall(
        f"POST /accounts/login/ HTTP/1.1\r\nHost: {DASHBOARD}:{edge.caddy.https_port}\r\n"
        f"Origin: {edge.url('', DASHBOARD)}\r\nCookie: csrftoken={'t' * 32}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 1000000\r\n\r\nusername=".encode()
    )
    return tls


def slow_reader(edge: Edge) -> ssl.SSLSocket:
    """A dashboard download that its client does not read."""
    context = ssl.create_default_context(cafile=str(edge.root))
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(30)
    raw.connect(("127.0.0.1", edge.caddy.https_port))
    tls = context.wrap_socket(raw, server_hostname=DASHBOARD)
    tls.sendall(
        f"GET /static/vendor/chart.umd.min.js HTTP/1.1\r\nHost: {DASHBOARD}\r\n\r\n".encode()
    )
    return tls


def test_a_held_dashboard_and_its_slow_readers_do_not_slow_downloads(edge, files):
    """The dashboard service has 4 threads (scarf.testing.DashboardServer); 8
    uploads that never finish and 16 readers that never read take them all
    and more, while downloads go on at their usual pace."""
    timed_downloads(edge, 20)  # warm: certificate, connections, remembered decision
    before = timed_downloads(edge, 500)
    held = [held_upload(edge) for _ in range(8)] + [slow_reader(edge) for _ in range(16)]
    dashboard_waited: list[float] = []

    def ask_the_dashboard() -> None:
        started = time.perf_counter()
        connection = EdgeConnection(edge, DASHBOARD, timeout=60)
        connection.request("GET", "/healthz")
        connection.getresponse().read()
        dashboard_waited.append(time.perf_counter() - started)
        connection.close()

    probe = threading.Thread(target=ask_the_dashboard)
    try:
        time.sleep(0.5)  # the uploads have reached gunicorn
        probe.start()
        started = time.perf_counter()
        during = timed_downloads(edge, 1000)
        measured = time.perf_counter() - started
    finally:
        for sock in held:
            sock.close()
        probe.join(timeout=60)

    assert dashboard_waited, "the dashboard never answered"
    print(
        f"downloads: median {statistics.median(before) * 1000:.2f} ms before, "
        f"{statistics.median(during) * 1000:.2f} ms (max {max(during) * 1000:.2f}) while the "
        f"dashboard, full, kept a request waiting {dashboard_waited[0]:.2f} s"
    )
    assert dashboard_waited[0] > measured  # the dashboard was full all along
    assert max(during) < 1.0
    assert statistics.median(during) < 3 * statistics.median(before) + 0.02, (before, during)


def test_the_edge_asks_the_dashboard_service(edge, acme):
    assert eventually(
        f"{edge.dashboard.url}/internal/tls/allowed?domain=acme.gateway.localhost", 200
    )
    connection = EdgeConnection(edge, "acme.gateway.localhost")
    connection.request("GET", "/")
    assert connection.getresponse().status == 404  # served: no rule there
    connection.close()
    assert "/internal/tls/allowed?domain=acme.gateway.localhost" in edge.dashboard.output()


def test_the_api_shows_the_certificate_the_edge_obtained(edge, acme, files):
    user = User.objects.create_user("ada@example.com", "correct horse battery")
    Membership.objects.create(user=user, organisation=acme, role=Membership.OWNER)
    secret = ApiToken.issue(acme, user, name="read", scope="read")[1]
    domain = Domain.objects.get(hostname=DOMAIN)
    timed_downloads(edge, 1)  # the first HTTPS request: the certificate is obtained

    connection = EdgeConnection(edge, DASHBOARD)
    connection.request(
        "GET", f"/api/v1/domains/{domain.id}/", headers={"Authorization": f"Bearer {secret}"}
    )
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()

    assert response.status == 200, body
    assert body["certificate"]["issued"] is True
    assert body["certificate"]["issuer"].startswith("Pebble Intermediate CA")
    assert body["certificate"]["expired"] is False
    assert body["certificate"]["not_after"] > datetime.now(UTC).isoformat()
