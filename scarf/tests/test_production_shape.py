"""docker-compose.yml's shape (CI machines run no container engine; scripts/compose-check.sh
runs the file itself where one is)."""

import ipaddress
import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml

from scarf.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_runs_the_edge_gateway_dashboard_worker_beat_postgres_and_redis():
    expected = {"caddy", "gateway", "web", "worker", "beat", "postgres", "redis"}
    assert expected <= set(compose()["services"])


def test_the_app_services_run_the_right_commands():
    services = compose()["services"]

    assert services["gateway"]["command"] == ["python", "-m", "scarf.serving"]
    assert services["web"]["command"] == ["gunicorn", "-c", "scarf/gunicorn.conf.py", "scarf.wsgi"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "scarf", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "scarf", "beat"]


def test_the_app_services_get_the_database_and_redis_urls():
    services = compose()["services"]

    for name in ("gateway", "web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:6379")
        assert "SECRET_KEY" in environment


def test_services_have_health_checks_and_the_database_a_volume():
    services = compose()["services"]

    for name in ("postgres", "redis", "gateway", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert "postgres-data" in compose()["volumes"]


def test_only_the_edge_is_published_and_it_trusts_no_one_else():
    services = compose()["services"]
    caddy = services["caddy"]

    assert [name for name, service in services.items() if service.get("ports")] == ["caddy"]
    assert caddy["ports"] == [
        "${HTTP_PORT:-80}:${HTTP_PORT:-80}",
        "${HTTPS_PORT:-443}:${HTTPS_PORT:-443}",
        "${HTTPS_PORT:-443}:${HTTPS_PORT:-443}/udp",
    ]
    assert "caddy-data:/data" in caddy["volumes"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert caddy["environment"]["ACME_EMAIL"].startswith("${ACME_EMAIL")
    assert caddy["environment"]["ACME_CA"].startswith("${ACME_CA:-")
    assert caddy["environment"]["DASHBOARD_UPSTREAM"] == "web:8000"
    assert caddy["environment"]["GATEWAY_UPSTREAM"] == "gateway:8000"
    address = caddy["networks"]["scarf"]["ipv4_address"]
    trusted = services["gateway"]["environment"]["TRUSTED_PROXIES"]
    network = trusted.removeprefix("${TRUSTED_PROXIES:-").removesuffix("}")
    assert ipaddress.ip_address(address) in ipaddress.ip_network(network)


def test_the_edge_runs_as_the_app_user_so_the_dashboard_can_read_its_certificates():
    """Caddy writes certificates readable by their owner only; `web` shows them."""
    services = compose()["services"]
    uid = re.search(r"useradd [^\n]*--uid (\d+)", (ROOT / "Dockerfile").read_text()).group(1)

    assert services["caddy"]["user"] == f"{uid}:{uid}"
    volumes = services["caddy-volumes"]
    assert volumes["command"] == ["chown", "-R", f"{uid}:{uid}", "/data", "/config"]
    assert {"caddy-data:/data", "caddy-config:/config"} <= set(volumes["volumes"])
    depends = services["caddy"]["depends_on"]["caddy-volumes"]
    assert depends == {"condition": "service_completed_successfully"}
    assert "caddy-data:/caddy-data:ro" in services["web"]["volumes"]


def test_the_caddyfile_adapts_with_the_compose_defaults(tmp_path):
    """deploy/Caddyfile as the caddy service reads it (Caddy's own parser)."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path),
        "ACME_EMAIL": "ops@example.com",
        "DASHBOARD_HOSTS": "gateway.example.com dashboard.example.com",
        "TLS_ASK_URL": "http://web:8000/internal/tls/allowed",
    }
    adapted = subprocess.run(
        ["caddy", "adapt", "--config", str(ROOT / "deploy/Caddyfile"), "--adapter", "caddyfile"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    config = json.loads(adapted.stdout)

    tls = config["apps"]["tls"]["automation"]
    assert tls["on_demand"]["ask"] == "http://web:8000/internal/tls/allowed"
    (issuer,) = tls["policies"][0]["issuers"]
    assert issuer["ca"] == "https://acme-v02.api.letsencrypt.org/directory"
    assert issuer["email"] == "ops@example.com"
    assert config["storage"]["root"] == "/data/caddy"
    assert {server["listen"][0] for server in config["apps"]["http"]["servers"].values()} == {
        ":80",
        ":443",
    }


def test_the_image_runs_the_production_server():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert 'CMD ["python", "-m", "scarf.serving"]' in dockerfile


def test_the_production_server_serves_the_product(tmp_path):
    """`python -m scarf.serving`: several worker processes, the WSGI application."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scarf.settings",
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "VAR_DIR": str(tmp_path),
    }
    with open(tmp_path / "server.log", "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "scarf.serving"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        body = wait_for(f"http://127.0.0.1:{port}/healthz")
        workers = children(server.pid)
    finally:
        server.terminate()
        server.wait(15)

    assert body == b"ok\n"
    assert len(workers) == 2


def children(pid: int) -> list[int]:
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines())
        except (OSError, ValueError):
            continue
        if fields.get("PPid", "").strip() == str(pid):
            found.append(int(status.parent.name))
    return found


def wait_for(url: str) -> bytes:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
