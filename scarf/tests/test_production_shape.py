"""docker-compose.yml cannot run here (no container engine), so check its shape."""

import os
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


def test_it_runs_postgres_redis_web_worker_and_beat():
    assert {"postgres", "redis", "web", "worker", "beat"} <= set(compose()["services"])


def test_the_app_services_run_the_right_commands():
    services = compose()["services"]

    assert services["web"]["command"] == ["python", "-m", "scarf.serving"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "scarf", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "scarf", "beat"]


def test_the_app_services_get_the_database_and_redis_urls():
    services = compose()["services"]

    for name in ("web", "worker", "beat", "migrate"):
        environment = services[name]["environment"]
        assert environment["DATABASE_URL"].startswith("postgres://")
        assert environment["REDIS_URL"].startswith("redis://redis:6379")
        assert "SECRET_KEY" in environment


def test_services_have_health_checks_and_the_database_a_volume():
    services = compose()["services"]

    for name in ("postgres", "redis", "web", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert any(v.endswith(":/var/lib/postgresql/data") for v in services["postgres"]["volumes"])
    assert "postgres-data" in compose()["volumes"]


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
