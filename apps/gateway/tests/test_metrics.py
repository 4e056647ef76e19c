"""GET /metrics: the gateway workers' counters and the pipeline's signals, for Prometheus."""

import re
import time

import pytest
from django.test import Client

from apps.packages.manifests import import_manifest

from .test_serving_end_to_end import send

pytestmark = pytest.mark.slow


def metric(text: str, name: str, labels: str = "") -> float:
    found = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def scrape(server) -> str:
    status, _, body = send(server, "GET", "/metrics", "localhost")
    assert status == 200
    return body.decode()


def test_responses_are_counted_by_status_and_rule_type(gateway_server, acme, every_rule_type):
    import_manifest(acme, every_rule_type, verify_domains=True)
    server = gateway_server.start()
    for _ in range(3):
        send(server, "GET", "/install.sh", "get.acme.test")
    send(server, "GET", "/nothing-here", "get.acme.test")

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # workers publish their counters every second
        text = scrape(server)
        if metric(text, "scarf_gateway_responses_total", '{status="307",rule_type="file-v1"}'):
            break
        time.sleep(0.2)

    assert metric(text, "scarf_gateway_responses_total", '{status="307",rule_type="file-v1"}') == 3
    assert metric(text, "scarf_gateway_responses_total", '{status="404",rule_type="none"}') == 1
    assert metric(text, "scarf_redis_up") == 1
    assert metric(text, "scarf_routing_version") >= 1
    assert "scarf_events_consumer_lag" in text
    assert metric(text, "scarf_spool_bytes") == 0


@pytest.mark.django_db
def test_without_a_token_only_local_unproxied_clients_may_read(redis_db):
    assert Client(REMOTE_ADDR="127.0.0.1").get("/metrics").status_code == 200
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics").status_code == 403
    proxied = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.get("/metrics").status_code == 403


@pytest.mark.django_db
def test_with_a_token_the_bearer_may_read_from_anywhere(redis_db, settings):
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    remote = Client(REMOTE_ADDR="203.0.113.9")

    assert remote.get("/metrics").status_code == 403
    assert remote.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    answer = remote.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert answer.status_code == 200
    assert b"scarf_events_ingested_total" in answer.content
