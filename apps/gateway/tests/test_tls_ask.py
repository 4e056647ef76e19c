"""The TLS edge's question, GET /internal/tls/allowed?domain=NAME (apps/gateway/edge.py):
yes for the names we serve, no for everything else, and only the edge may ask."""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request

import pytest

from apps.gateway.app import GatewayApp
from apps.packages.manifests import import_manifest
from apps.packages.services import SYSTEM, claim_domain, delete_domain, verify_domain
from scarf.testing import ProductionServer
from scarf.wsgi import HostDispatcher

DASHBOARD = "dashboard.example.test"
RULE_AT_THE_ASK_PATH = {
    "rules": [
        {
            "type": "file-v1",
            "domain": "get.acme.test",
            "package-id": "odd",
            "incoming-path": "/internal/tls/allowed",
            "outgoing-url": "https://files.example.com/odd",
        }
    ]
}


def dashboard(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"dashboard\n"]


@pytest.fixture
def app(transactional_db, acme):
    """The WSGI entry point with the real routing table (a miss closes the
    connection as serving does, hence a transactional database)."""
    import_manifest(acme, RULE_AT_THE_ASK_PATH, verify_domains=True)
    claim_domain(acme, SYSTEM, "pending.acme.test")
    return HostDispatcher(dashboard, GatewayApp(watch=False), [DASHBOARD])


def ask(app, query: str, peer: str = "127.0.0.1", host: str = "127.0.0.1:8000", **headers):
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/internal/tls/allowed",
        "QUERY_STRING": query,
        "RAW_URI": f"/internal/tls/allowed?{query}",
        "REMOTE_ADDR": peer,
        "HTTP_HOST": host,
        "wsgi.input": io.BytesIO(),
        "wsgi.url_scheme": "http",
        **{"HTTP_" + name.upper(): value for name, value in headers.items()},
    }
    seen = {}

    def start_response(status, response_headers):
        seen["status"] = int(status.split()[0])

    body = b"".join(app(environ, start_response))
    return seen["status"], body


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("get.acme.test", 200),  # a verified custom domain
        ("acme.gateway.localhost", 200),  # the organisation's default domain
        (DASHBOARD, 200),
        ("GET.ACME.TEST.", 200),  # names compare as DNS does
        ("pending.acme.test", 404),  # claimed, not verified
        ("other.example.test", 404),
        ("nobody.gateway.localhost", 404),  # no such organisation
    ],
)
def test_it_allows_exactly_the_names_we_serve(app, name, status):
    assert ask(app, f"domain={name}")[0] == status


@pytest.mark.parametrize(
    "name", ["127.0.0.1", "10.1.2.3", "::1", "[::1]", "2001:db8::1", "", "localhost", "a..b"]
)
def test_it_refuses_ip_addresses_and_anything_not_a_host_name(app, name):
    assert ask(app, f"domain={name}") == (403, b"not a host name\n")


def test_a_name_asked_about_again_costs_no_query(app, django_assert_num_queries):
    ask(app, "domain=flood-1.example.test")
    ask(app, "domain=get.acme.test")

    with django_assert_num_queries(0):
        for _ in range(100):
            assert ask(app, "domain=flood-1.example.test")[0] == 404
            assert ask(app, "domain=get.acme.test")[0] == 200


def test_a_request_the_edge_forwarded_is_not_the_edges_question(app):
    """A client reaching the path through the edge (which adds X-Forwarded-For)
    gets what the host serves there: here the tenant's own rule."""
    status, _ = ask(
        app, "domain=get.acme.test", host="get.acme.test", X_FORWARDED_FOR="198.51.100.7"
    )

    assert status == 307


def test_a_peer_outside_loopback_and_the_trusted_proxies_is_not_answered(app):
    assert ask(app, "domain=get.acme.test", peer="198.51.100.7", host="get.acme.test")[0] == 307
    assert ask(app, "domain=other.example.test", peer="198.51.100.7")[0] == 404


def test_the_compose_network_may_ask_when_it_is_a_trusted_proxy(transactional_db, acme, settings):
    settings.TRUSTED_PROXIES = ["172.16.0.0/12"]
    app = HostDispatcher(dashboard, GatewayApp(watch=False), [DASHBOARD])

    assert ask(app, "domain=acme.gateway.localhost", peer="172.18.0.5", host="web:8000")[0] == 200


def test_with_a_token_only_requests_carrying_it_are_answered(transactional_db, acme, settings):
    settings.TLS_ASK_TOKEN = "edge-secret"
    app = HostDispatcher(dashboard, GatewayApp(watch=False), [DASHBOARD])

    assert ask(app, "domain=acme.gateway.localhost&token=edge-secret", peer="192.0.2.9")[0] == 200
    assert ask(app, "domain=acme.gateway.localhost&token=wrong")[1] != b"allowed\n"
    assert ask(app, "domain=acme.gateway.localhost")[1] != b"allowed\n"


@pytest.mark.slow
def test_a_running_server_follows_verification_and_deletion(
    gateway_server, acme, tmp_path, dns_server
):
    """On the production server: a refusal is not remembered past the change
    that makes the name servable, nor an approval past its deletion."""
    domain = claim_domain(acme, SYSTEM, "dl.acme.test")
    server = ProductionServer(gateway_server.env, tmp_path).start()
    try:
        url = f"{server.url}/internal/tls/allowed?domain=dl.acme.test"
        assert answer(url) == 404
        assert answer(url) == 404  # now a remembered refusal

        dns_server.txt[domain.challenge_name] = [domain.verification_token]
        assert verify_domain(domain)
        assert eventually(url, 200)

        delete_domain(domain, SYSTEM)
        assert eventually(url, 404)
    finally:
        server.stop()


def answer(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def eventually(url: str, status: int, within: float = 2.0) -> bool:
    deadline = time.monotonic() + within
    while answer(url) != status:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
