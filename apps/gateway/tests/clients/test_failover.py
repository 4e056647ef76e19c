"""Failover between two real registries (Debian's docker-registry on loopback)
and canary weights, through a real gateway server.

The health checks run here, round by round (the beat runs the same task
every BACKEND_HEALTH_INTERVAL seconds); each round probes both registries.
A flip republishes the routing entry, which the running server applies
within a second: a redirect or a proxied pull then goes to the other registry.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from apps.gateway.tests.clients.test_docker_clients import (
    DOMAIN,
    MANIFEST_TYPES,
    Registry,
    build_oci_image,
    recorded_events,
    skopeo,
)
from apps.gateway.tests.conftest import through_gateway
from apps.packages import services
from apps.packages.manifests import import_manifest
from apps.packages.models import Backend, PrimaryHealth, Revision, Rule
from apps.packages.signals import backend_health_changed
from apps.packages.tasks import check_backend_health
from scarf.testing import BASE_DIR, wait_until_serving

pytestmark = pytest.mark.slow

MANIFEST = "/v2/acme/app/manifests/1.0"
DOCKER = {"User-Agent": "docker/27.0"}
WAIT_FOR_PUBLISH = 10.0  # a deadline for polling, not an assertion about speed


class RestartableRegistry(Registry):
    """A registry in its own directory that can be stopped and started again
    on the same port and storage."""

    def __init__(self, directory: Path):
        directory.mkdir()
        self.directory = directory
        super().__init__(directory)

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(self.directory / "registry.yml")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.url + "/v2/", self.process)


@pytest.fixture
def registries(tmp_path):
    primary = RestartableRegistry(tmp_path / "primary")
    secondary = RestartableRegistry(tmp_path / "secondary")
    image = build_oci_image(tmp_path / "layout", "1.0")
    for registry in (primary, secondary):
        skopeo(
            tmp_path,
            "copy",
            "--dest-tls-verify=false",
            f"oci:{image.layout}:1.0",
            f"docker://127.0.0.1:{registry.port}/acme/app:1.0",
        )
    yield primary, secondary
    primary.stop()
    secondary.stop()


@pytest.fixture
def health_settings(settings):
    settings.BACKEND_UNHEALTHY_AFTER = 2
    settings.BACKEND_HEALTHY_AFTER = 2
    settings.BACKEND_PROBE_TIMEOUT = 1.0
    settings.BACKEND_PASSIVE_FAILURES = 3
    return settings


def app_rule(acme, registry_url: str) -> Rule:
    manifest = {
        "rules": [
            {
                "type": "docker-v1",
                "domain": DOMAIN,
                "package-id": "app-image",
                "repository-name": "acme/app",
                "registry": registry_url,
            }
        ]
    }
    import_manifest(acme, manifest, verify_domains=True)
    return Rule.objects.get(domain__hostname=DOMAIN)


def location(server, target: str = MANIFEST, connection=None) -> str:
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", DOMAIN)
    connection.putheader("User-Agent", DOCKER["User-Agent"])
    for media_type in MANIFEST_TYPES:
        connection.putheader("Accept", media_type)
    connection.endheaders()
    response = connection.getresponse()
    response.read()
    if own:
        connection.close()
    assert response.status == 307
    return response.headers["Location"]


def wait_for_location(server, prefix: str) -> float:
    """Seconds until the server redirects to `prefix` (the published change applied)."""
    started = time.monotonic()
    while not location(server).startswith(prefix):
        assert time.monotonic() - started < WAIT_FOR_PUBLISH, "the change was never served"
        time.sleep(0.05)
    return time.monotonic() - started


def pull(tmp_path, server, destination: str) -> Path:
    copied = tmp_path / destination
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        f"docker://{DOMAIN}/acme/app:1.0",
        f"dir:{copied}",
        env=through_gateway(server),
    )
    return copied


@pytest.fixture
def flips():
    seen = []

    def receiver(sender, **kwargs):
        seen.append((kwargs["backend"], kwargs["healthy"]))

    backend_health_changed.connect(receiver)
    yield seen
    backend_health_changed.disconnect(receiver)


def test_a_stopped_primary_fails_over_and_traffic_comes_back_when_it_returns(
    tmp_path, gateway_server, acme, registries, health_settings, redis_db, flips
):
    primary, secondary = registries
    rule = app_rule(acme, primary.url)
    backend = services.add_backend(rule, services.SYSTEM, {"registry": secondary.url})
    server = gateway_server.start()
    assert check_backend_health() == 0
    assert location(server).startswith(primary.url)

    primary.stop()
    assert check_backend_health() == 0  # one failed check: not yet
    assert location(server).startswith(primary.url)
    assert check_backend_health() == 1  # the second: the primary is unhealthy
    failover = wait_for_location(server, secondary.url)

    health = PrimaryHealth.objects.get(rule=rule)
    assert (health.healthy, health.consecutive_failures) == (False, 2)
    assert "/v2/" in health.last_error
    assert flips == [(None, False)]
    pulled = pull(tmp_path, server, "after-failover")
    assert (pulled / "manifest.json").exists()
    pulls = [e for e in recorded_events(redis_db) if e["path"] == MANIFEST and e["status"] == 200]
    assert pulls[-1]["capture"]["backend_id"] == backend.id
    assert pulls[-1]["target"].startswith(secondary.url)

    primary.start()
    assert check_backend_health() == 0  # one good check: not yet
    assert location(server).startswith(secondary.url)
    assert check_backend_health() == 1
    recovery = wait_for_location(server, primary.url)

    assert flips == [(None, False), (None, True)]
    assert pull(tmp_path, server, "after-recovery").exists()
    changes = Revision.objects.filter(action=Revision.HEALTH).order_by("id")
    assert [(r.object_type, r.after["healthy"]) for r in changes] == [
        ("rule", False),
        ("rule", True),
    ]
    print(f"published failover served after {failover:.2f}s, recovery after {recovery:.2f}s")


def test_an_unhealthy_alternate_is_skipped(
    tmp_path, gateway_server, acme, registries, health_settings
):
    primary, secondary = registries
    rule = app_rule(acme, primary.url)
    broken = services.add_backend(rule, services.SYSTEM, {"registry": "http://127.0.0.1:9"})
    working = services.add_backend(rule, services.SYSTEM, {"registry": secondary.url})
    server = gateway_server.start()

    primary.stop()
    for _ in range(2):
        check_backend_health()

    assert not Backend.objects.get(id=broken.id).healthy
    assert Backend.objects.get(id=working.id).healthy
    wait_for_location(server, secondary.url)


def test_failed_proxied_pulls_count_against_a_backend(
    tmp_path, gateway_server, acme, registries, health_settings, redis_db
):
    primary, secondary = registries
    rule = app_rule(acme, primary.url)
    services.add_backend(rule, services.SYSTEM, {"registry": secondary.url})
    server = gateway_server.start()
    primary.stop()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for _ in range(3):
        connection.putrequest("GET", MANIFEST, skip_host=True)
        connection.putheader("Host", DOMAIN)
        connection.putheader("User-Agent", "skopeo/1.13")
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        assert response.status == 502
    connection.close()
    deadline = time.monotonic() + WAIT_FOR_PUBLISH
    while not redis_db.exists("backends:passive"):  # flushed off the request path
        assert time.monotonic() < deadline
        time.sleep(0.05)
    primary.start()  # the probe alone would now succeed

    check_backend_health()

    health = PrimaryHealth.objects.get(rule=rule)
    assert health.consecutive_failures == 1
    assert health.last_error == "3 of 3 requests failed"


def test_a_canary_of_weight_10_gets_about_a_tenth_of_2000_requests(
    gateway_server, acme, registries
):
    primary, secondary = registries
    rule = app_rule(acme, primary.url)
    services.add_backend(rule, services.SYSTEM, {"registry": secondary.url}, weight=10)
    server = gateway_server.start()

    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    served = Counter(
        "canary" if location(server, connection=connection).startswith(secondary.url) else "primary"
        for _ in range(2000)
    )
    connection.close()

    print(f"canary served {served['canary']} of 2000 requests")
    # Unseeded (a real server): ±3 % is 4.5 standard deviations of 2000 draws.
    assert served["primary"] + served["canary"] == 2000
    assert 140 <= served["canary"] <= 260, served


def test_events_say_which_backend_served(gateway_server, acme, registries, redis_db):
    primary, secondary = registries
    rule = app_rule(acme, primary.url)
    services.add_backend(rule, services.SYSTEM, {"registry": secondary.url}, weight=50)
    server = gateway_server.start()

    for _ in range(40):
        location(server)

    events = recorded_events(redis_db)
    by_backend = Counter(
        (e["capture"]["backend"], e["target"].startswith(secondary.url)) for e in events
    )
    assert set(by_backend) == {(0, False), (1, True)}
    assert json.loads(json.dumps(events[0]["capture"]))["kind"] == "docker"


@pytest.fixture
def worker_with_beat(gateway_server, tmp_path):
    """A real Celery worker with its beat (`celery -A scarf worker -B`), in the
    production shape, checking backends every half second."""
    env = {
        **gateway_server.env,
        "BACKEND_HEALTH_INTERVAL": "0.5",
        "BACKEND_UNHEALTHY_AFTER": "2",
        "BACKEND_HEALTHY_AFTER": "2",
        "BACKEND_PROBE_TIMEOUT": "1",
    }
    log = (tmp_path / "worker.log").open("w+b")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "scarf", "worker", "-B", "--pool", "solo"]
        + ["--schedule", str(tmp_path / "beat-schedule"), "--loglevel", "INFO"],
        cwd=BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


def test_the_beat_fails_over_within_its_window_in_the_production_shape(
    gateway_server, acme, registries, worker_with_beat
):
    primary, secondary = registries
    rule = app_rule(acme, primary.url)
    services.add_backend(rule, services.SYSTEM, {"registry": secondary.url})
    server = gateway_server.start()
    deadline = time.monotonic() + 60
    while not PrimaryHealth.objects.filter(rule=rule, last_probe__isnull=False).exists():
        assert time.monotonic() < deadline, "the beat never checked the backends"
        time.sleep(0.1)

    primary.stop()
    stopped = time.monotonic()
    while not location(server).startswith(secondary.url):
        assert time.monotonic() - stopped < 60, "never failed over"
        time.sleep(0.05)
    failover = time.monotonic() - stopped

    primary.start()
    started = time.monotonic()
    while not location(server).startswith(primary.url):
        assert time.monotonic() - started < 60, "traffic never came back"
        time.sleep(0.05)
    recovery = time.monotonic() - started

    print(
        f"beat every 0.5 s, 2 checks: failover served {failover:.2f}s after the stop, "
        f"back {recovery:.2f}s after the restart"
    )
