"""The README's run path: the product on SQLite with no Redis, as a real server."""

import json
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def fetch(url: str, host: str | None = None):
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, response.read()


def test_it_serves_the_login_page_health_and_readiness_without_services(embedded_server):
    embedded_server.start()

    status, body = fetch(embedded_server.url + "/accounts/login/", host="localhost")
    assert status == 200
    assert b"Log in" in body

    status, body = fetch(embedded_server.url + "/healthz", host="localhost")
    assert (status, body) == (200, b"ok\n")

    status, body = fetch(embedded_server.url + "/readyz", host="localhost")
    assert status == 200
    assert json.loads(body)["checks"]["redis"] == "not used (embedded mode)"


def test_it_serves_static_files_without_collectstatic(embedded_server):
    embedded_server.start()

    status, body = fetch(embedded_server.url + "/static/css/app.css", host="localhost")

    assert status == 200
    assert b"font" in body
