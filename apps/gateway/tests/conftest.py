import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from apps.accounts.models import Organisation
from apps.packages.manifests import import_manifest
from scarf.testing import Caddy, DashboardServer, ProductionServer, Server, Tunnel

MANIFESTS = Path(__file__).parent / "manifests"


def load_manifest(name: str) -> dict:
    return json.loads((MANIFESTS / name).read_text())


@pytest.fixture
def acme(db):
    return Organisation.objects.create(name="Acme", slug="acme")


@pytest.fixture
def every_rule_type():
    return load_manifest("every-rule-type.json")


@pytest.fixture
def imported(acme, every_rule_type):
    import_manifest(acme, every_rule_type, verify_domains=True)
    return acme


def database_url() -> str:
    """The test database, for a subprocess to use (it sees committed rows only)."""
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def gateway_server(transactional_db, tmp_path):
    """The product in its production shape (PostgreSQL + Redis) as a real server."""
    server = Server(
        {
            "DATABASE_URL": database_url(),
            "REDIS_URL": settings.REDIS_URL,
            "VAR_DIR": str(tmp_path / "var"),
            "DATABASE_CONN_MAX_AGE": "0",
        },
        tmp_path,
    )
    yield server
    server.stop()


LOOPBACK_DOMAIN = "get.acme.test"


@pytest.fixture
def direct_server(gateway_server, acme, settings):
    """A gateway that clients reach at URLs on its own (non-default) port, as
    the users of a self-hosted gateway do (`make run` serves on :8000): the
    Host they send carries that port, which every URL written back must keep.
    No name resolves to loopback here and IP addresses are not domains, so
    the clients still reach LOOPBACK_DOMAIN through the gateway as their
    proxy, but at `http://LOOPBACK_DOMAIN:<port>/`, not on port 80, which hid
    a port dropped from written-back URLs. Call it with the rules to import."""
    settings.DASHBOARD_HOSTS = ["localhost"]
    gateway_server.env["DASHBOARD_HOSTS"] = "localhost"

    def start(rules: list[dict]) -> Server:
        import_manifest(acme, {"rules": rules}, verify_domains=True)
        return gateway_server.start()

    return start


@pytest.fixture(params=["scarf", "gunicorn"])
def start_either_server(request, gateway_server, tmp_path):
    """Starts, once the test's rules are in, the production server (`python -m
    scarf.serving`) or gunicorn with scarf/gunicorn.conf.py (which still
    serves the whole product): each test runs on both."""
    kind = ProductionServer if request.param == "scarf" else DashboardServer
    server = kind(gateway_server.env, tmp_path)
    yield server.start
    server.stop()


def through_gateway(server) -> dict[str, str]:
    """Environment that makes a real client reach our domains through `server`.

    Clients are pointed at the gateway as their HTTP proxy: a request for
    http://get.acme.test/... reaches the gateway with that Host (absolute-form
    target), while backends on 127.0.0.1 are reached directly (no_proxy).
    No /etc/hosts entries or root needed.
    """
    proxy = f"http://127.0.0.1:{server.port}"
    bypass = "127.0.0.1,localhost,::1"
    return {
        "http_proxy": proxy,
        "HTTP_PROXY": proxy,
        "https_proxy": proxy,
        "HTTPS_PROXY": proxy,
        "no_proxy": bypass,
        "NO_PROXY": bypass,
    }


DOMAIN = "get.acme.test"
DASHBOARD = "dashboard.acme.test"


@dataclass
class Edge:
    """The production topology on this machine: Caddy (deploy/Caddyfile) with
    pebble as its ACME CA, in front of the gateway service (`python -m
    scarf.serving`) and the dashboard service (gunicorn), each a process of
    its own; a CONNECT tunnel that takes clients to Caddy's HTTPS port."""

    gateway: ProductionServer
    dashboard: DashboardServer
    caddy: Caddy
    tunnel: Tunnel
    root: Path  # pebble's root, which clients trust

    def url(self, path: str, host: str = DOMAIN) -> str:
        return f"https://{host}:{self.caddy.https_port}{path}"

    def http_url(self, path: str, host: str = DOMAIN) -> str:
        return f"http://{host}:{self.caddy.http_port}{path}"

    def resolve(self, host: str = DOMAIN) -> list[str]:
        """curl's options to reach `host` on the edge's ports without DNS."""
        return [
            *("--resolve", f"{host}:{self.caddy.https_port}:127.0.0.1"),
            *("--resolve", f"{host}:{self.caddy.http_port}:127.0.0.1"),
        ]


@pytest.fixture
def edge_env() -> dict[str, str]:
    """More environment for the edge's services (a test module may override it)."""
    return {}


@pytest.fixture
def edge(gateway_server, pebble, tmp_path, server_python, edge_env):
    """Caddy as the one trusted proxy; the dashboard over HTTPS only (HTTPS=true)."""
    env = {
        **gateway_server.env,
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "DASHBOARD_HOSTS": DASHBOARD,
        "ALLOWED_HOSTS": DASHBOARD,
        "HTTPS": "true",
        **edge_env,
    }
    gateway = ProductionServer(env, tmp_path, python=server_python)
    dashboard = DashboardServer(env, tmp_path, python=server_python)
    caddy = Caddy(
        tmp_path,
        pebble,
        gateway=f"127.0.0.1:{gateway.port}",
        dashboard=f"127.0.0.1:{dashboard.port}",
        dashboard_hosts=[DASHBOARD],
        ask_url=f"http://127.0.0.1:{dashboard.port}/internal/tls/allowed",
    )
    for server in (gateway, dashboard):
        server.env["PUBLIC_HTTPS_PORT"] = str(caddy.https_port)
        server.env["SITE_URL"] = f"https://{DASHBOARD}:{caddy.https_port}"
    dashboard.env["CADDY_STORAGE"] = str(caddy.storage)  # the domains' certificates
    tunnel = None
    try:
        gateway.start()
        dashboard.start()
        caddy.start()
        tunnel = Tunnel(caddy.https_port)
        yield Edge(gateway, dashboard, caddy, tunnel, pebble.root)
    finally:
        if tunnel is not None:
            tunnel.stop()
        caddy.stop()
        dashboard.stop()
        gateway.stop()
