"""Real HTTP against a real server (PostgreSQL + Redis), with Host headers."""

import http.client
import json

import pytest

from apps.analytics.events import read_stream_events
from apps.packages.manifests import import_manifest
from scarf.testing import ProductionServer

pytestmark = pytest.mark.slow

WHEEL = "acme_tool-1.0-py3-none-any.whl"


def send(server, method, target, host, headers=None, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(method, target, body=body, headers={"Host": host, **(headers or {})})
    response = connection.getresponse()
    result = response.status, response.headers, response.read()
    connection.close()
    return result


def recorded_events(redis_db):
    return read_stream_events(redis_db)


@pytest.fixture
def server(start_either_server, acme, every_rule_type):
    """The production server (`python -m scarf.serving`) and gunicorn (scarf/gunicorn.conf.py)."""
    import_manifest(acme, every_rule_type, verify_domains=True)
    return start_either_server()


CASES = [
    # (method, target, host, headers, status, location)
    (
        "GET",
        "/v2/acme/app/manifests/1.0",
        "get.acme.test",
        {"User-Agent": "docker/27.0"},
        307,
        "https://ghcr.io/v2/acme/app/manifests/1.0",
    ),
    (
        "GET",
        "/v2/acme/tool-lint/tags/list?n=5",
        "GET.ACME.TEST:8080",
        {"User-Agent": "docker/27.0"},
        307,
        "https://registry-1.docker.io/v2/acme/tool-lint/tags/list?n=5",
    ),
    (
        "GET",
        "/cli/1.2.3/cli-linux-amd64.tar.gz?src=ci",
        "get.acme.test",
        {},
        307,
        "https://github.com/acme/cli/releases/download/v1.2.3/cli-linux-amd64.tar.gz?src=ci",
    ),
    ("HEAD", "/install.sh", "get.acme.test", {}, 307, "https://raw.example.com/acme/install.sh"),
    ("GET", "/docs/intro", "get.acme.test", {}, 307, "https://docs.acme.example/intro.html"),
    (
        "GET",
        f"/simple/acme-tool/{WHEEL}",
        "get.acme.test",
        {},
        307,
        f"https://files.example.com/{WHEEL}",
    ),
    ("GET", "/about/team?x=1", "www.acme.test", {}, 307, "https://acme.example/about/team?x=1"),
]


@pytest.mark.parametrize(
    ("method", "target", "host", "headers", "status", "location"),
    CASES,
    ids=[case[1] for case in CASES],
)
def test_it_redirects(server, method, target, host, headers, status, location):
    got_status, got_headers, body = send(server, method, target, host, headers)

    assert got_status == status
    assert got_headers["Location"] == location
    assert body == b""


def test_every_claimed_request_is_recorded_with_its_capture(server, redis_db):
    send(
        server, "GET", "/v2/acme/app/manifests/1.0", "get.acme.test", {"User-Agent": "docker/27.0"}
    )
    send(
        server, "GET", "/cli/1.2.3/cli.tgz", "get.acme.test", {"User-Agent": "curl/8.5", "DNT": "1"}
    )
    send(server, "GET", "/nothing-here", "get.acme.test")

    events = recorded_events(redis_db)

    assert [event["rule_type"] for event in events] == ["docker-v1", "file-v1"]
    docker, cli = events
    assert docker["capture"]["image"] == ["acme", "app"]
    assert docker["capture"]["reference"] == "1.0"
    assert docker["package"] == "app-image"
    assert docker["status"] == 307
    assert docker["domain"] == "get.acme.test"
    assert cli["capture"]["variables"] == {"version": "1.2.3", "file": "cli.tgz"}
    assert cli["target"] == "https://github.com/acme/cli/releases/download/v1.2.3/cli.tgz"
    assert cli["user_agent"] == "curl/8.5"
    assert cli["dnt"] is True
    assert cli["client_ip"] == "127.0.0.1"
    assert cli["id"] != docker["id"]


def test_python_pages_list_the_files_under_our_domain(server, redis_db):
    status, headers, body = send(server, "GET", "/simple/acme-tool/", "get.acme.test")

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert f'href="/simple/acme-tool/{WHEEL}#sha256=0123'.encode() in body
    assert b'data-requires-python="&gt;=3.9"' in body
    assert b"files.example.com" not in body
    assert headers["ETag"].startswith('"')

    status, _, _ = send(
        server, "GET", "/simple/acme-tool/", "get.acme.test", {"If-None-Match": headers["ETag"]}
    )
    assert status == 304


def test_python_json_api_is_served_on_request(server):
    status, headers, body = send(
        server,
        "GET",
        "/simple/acme-tool/",
        "get.acme.test",
        {"Accept": "application/vnd.pypi.simple.v1+json"},
    )

    assert status == 200
    assert headers["Content-Type"] == "application/vnd.pypi.simple.v1+json"
    files = {f["filename"]: f for f in json.loads(body)["files"]}
    assert files[WHEEL]["hashes"] == {"sha256": "0123456789abcdef" * 4}


def test_telemetry_needs_the_token_and_records_each_event(server, redis_db):
    events = b'{"event":"start"}\n{"event":"stop"}'

    refused, _, _ = send(server, "POST", "/events", "get.acme.test", body=events)
    accepted, _, _ = send(
        server, "POST", "/events", "get.acme.test", {"Authorization": "Bearer s3cret-token"}, events
    )

    assert (refused, accepted) == (401, 200)
    assert [e["capture"]["event"] for e in recorded_events(redis_db)] == [
        {"event": "start"},
        {"event": "stop"},
    ]


def test_the_pixel_is_a_png_that_is_never_cached(server, redis_db):
    status, headers, body = send(server, "GET", "/a.png?x-pxid=readme", "get.acme.test")

    assert status == 200
    assert headers["Content-Type"] == "image/png"
    assert headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    assert body.startswith(b"\x89PNG")
    assert recorded_events(redis_db)[0]["capture"]["pixel_id"] == "readme"


@pytest.mark.parametrize(
    ("target", "host", "content_type", "body"),
    [
        ("/unknown", "get.acme.test", None, b""),
        ("/v2/other/manifests/1", "get.acme.test", "application/json", b"NAME_UNKNOWN"),
        ("/v2/_catalog", "get.acme.test", None, b""),
        ("/anything", "unknown.example.org", None, b""),
    ],
)
def test_unmatched_requests_get_the_reference_404s(
    server, redis_db, target, host, content_type, body
):
    status, headers, got = send(server, "GET", target, host)

    assert status == 404
    assert headers.get("Content-Type") == content_type
    assert body in got


def test_unmatched_requests_are_not_tenant_events(server, redis_db):
    send(server, "GET", "/unknown", "get.acme.test")
    send(server, "GET", "/anything", "unknown.example.org")

    assert recorded_events(redis_db) == []


def test_an_unverified_domain_serves_nothing(gateway_server, acme, every_rule_type):
    import_manifest(acme, every_rule_type, verify_domains=False)
    gateway_server.start()

    status, _, _ = send(gateway_server, "GET", "/install.sh", "get.acme.test")

    assert status == 404


def test_the_dashboard_host_still_reaches_django(server):
    status, _, body = send(server, "GET", "/accounts/login/", "localhost")

    assert status == 200
    assert b"Log in" in body


@pytest.mark.parametrize(
    ("raw_request", "allowed"),
    [
        (b"GET /install.sh HTTP/1.0\r\n\r\n", {400}),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: get.acme.test\r\n\r\n", {414, 400}),
        (b"GET /cli/\xff\xfe/x HTTP/1.1\r\nHost: get.acme.test\r\n\r\n", {400, 404}),
        (b"GET /cli/1/%ff%fe HTTP/1.1\r\nHost: get.acme.test\r\n\r\n", {404}),
        (b"GET http://evil.example/install.sh HTTP/1.1\r\nHost: get.acme.test\r\n\r\n", {404}),
        (b"GET /../../etc/passwd HTTP/1.1\r\nHost: get.acme.test\r\n\r\n", {404, 400}),
    ],
    ids=[
        "missing-host",
        "long-target",
        "raw-invalid-utf8",
        "encoded-invalid-utf8",
        "absolute-form",
        "traversal",
    ],
)
def test_hostile_requests_get_a_4xx_never_a_500(server, raw_request, allowed):
    import socket

    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw_request)
        reply = sock.recv(65536)

    status = int(reply.split(b" ", 2)[1])
    assert status in allowed, reply[:200]


def test_an_absolute_form_target_is_answered_for_its_authority_not_the_host_field(server):
    # RFC 9112 §3.2.2, on both servers: the tenant named by the Host field
    # answers nothing for a target naming another host.
    import socket

    answers = []
    for target in (b"http://evil.example/install.sh", b"http://GET.ACME.TEST:8000/install.sh"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: localhost\r\n\r\n")
            head = sock.recv(65536).split(b"\r\n\r\n")[0].lower()
            answers.append((head.split(b" ")[1], b"location: https://raw.example.com/" in head))

    assert answers == [(b"404", False), (b"307", True)]


def test_captured_values_never_change_the_host_or_add_headers(server):
    for value in ["%0d%0aSet-Cookie:%20x=1", "@evil.example", "%2F%2Fevil.example", ".."]:
        status, headers, _ = send(server, "GET", f"/cli/{value}/file", "get.acme.test")
        if status == 307:
            assert headers["Location"].startswith("https://github.com/acme/cli/")
            assert "\r" not in headers["Location"]
            assert "\n" not in headers["Location"]
        assert "Set-Cookie" not in headers


def test_the_servers_environment_never_reads_as_request_headers(
    gateway_server, acme, every_rule_type, tmp_path, redis_db
):
    """A server may build each request's environ on the process environment (granian did)."""
    import_manifest(acme, every_rule_type, verify_domains=True)
    production = ProductionServer(
        {**gateway_server.env, "HTTP_USER_AGENT": "from-the-environment"}, tmp_path
    ).start()
    try:
        status, _, _ = send(production, "GET", "/install.sh", "get.acme.test")
    finally:
        production.stop()

    assert status == 307
    assert [event["user_agent"] for event in recorded_events(redis_db)] == [""]


@pytest.mark.parametrize("address", ["127.0.0.1", "[::1]", "10.0.0.5"])
def test_a_health_probe_by_address_is_answered_by_the_dashboard(server, address):
    """Load balancers and Kubernetes probe by address: no tenant's domain is one."""
    host = f"{address}:{server.port}"

    healthz = send(server, "GET", "/healthz", host)
    readyz = send(server, "GET", "/readyz", host)
    other_path = send(server, "GET", "/install.sh", host)
    on_a_tenants_domain = send(server, "GET", "/healthz", "get.acme.test")

    assert (healthz[0], healthz[2]) == (200, b"ok\n")
    assert readyz[0] == 200
    assert json.loads(readyz[2])["checks"] == {"database": "ok", "redis": "ok"}
    assert other_path[0] == 404  # the gateway's: no domain is that address
    assert on_a_tenants_domain[0] == 404  # the gateway's: acme has no rule for it
    assert on_a_tenants_domain[2] != b"ok\n"
