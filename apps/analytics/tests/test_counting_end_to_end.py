"""Real requests through the real gateway, ingested by the real Celery worker,
counted exactly by the query functions the analytics API serves."""

import http.client
from collections import Counter
from datetime import UTC, datetime

import pytest

from apps.analytics.queries import time_series, top, totals
from apps.analytics.tasks import ingest_events
from apps.packages.manifests import import_manifest

from .conftest import IP_DE, IP_FR, IP_JP

pytestmark = pytest.mark.slow

DOCKER = "docker/27.0.3 go/go1.21.11 kernel/6.5.0 os/linux arch/amd64"
PIP = 'pip/24.0 {"installer":{"name":"pip","version":"24.0"},"system":{"name":"Linux"}}'
CURL = "curl/8.5.0"
GOOGLEBOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"
WHEEL = "/simple/acme-tool/acme_tool-1.0-py3-none-any.whl"

# (method, path, user agent, client ip, repeats, counted download of (package, version))
REQUESTS = [
    ("GET", "/v2/acme/app/manifests/1.0", DOCKER, IP_DE, 4, ("app-image", "1.0")),
    ("GET", "/v2/acme/app/manifests/2.0", DOCKER, IP_FR, 2, ("app-image", "2.0")),
    ("HEAD", "/v2/acme/app/manifests/2.0", DOCKER, IP_FR, 3, None),
    ("GET", "/v2/acme/app/blobs/sha256:" + "a" * 64, DOCKER, IP_FR, 2, None),
    ("GET", WHEEL, PIP, IP_FR, 3, ("acme-tool", "1.0")),
    ("GET", "/simple/acme-tool/", PIP, IP_FR, 2, None),
    ("GET", "/cli/1.2.3/cli.tgz", CURL, IP_JP, 5, ("cli", "1.2.3")),
    ("HEAD", "/install.sh", CURL, IP_JP, 1, None),
    ("GET", "/cli/1.2.3/cli.tgz", GOOGLEBOT, IP_DE, 2, None),
]


def send(server, method, path, user_agent, client_ip):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request(
        method,
        path,
        headers={"Host": "get.acme.test", "User-Agent": user_agent, "X-Forwarded-For": client_ip},
    )
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


@pytest.fixture
def counted(gateway_server, acme, every_rule_type, test_mmdb, celery_worker):
    """Every request sent through the gateway, then ingested by the Celery worker."""
    import_manifest(acme, every_rule_type, verify_domains=True)
    gateway_server.env.update(TRUSTED_PROXIES="127.0.0.1/32")
    gateway_server.start()
    for method, path, user_agent, client_ip, repeats, _ in REQUESTS:
        for _ in range(repeats):
            assert send(gateway_server, method, path, user_agent, client_ip) < 400
    ingest_events.delay().get(timeout=60)
    return acme


def expected(position: int) -> Counter:
    counts = Counter()
    for *_, repeats, download in REQUESTS:
        if download:
            counts[download[position]] += repeats
    return counts


def test_every_request_is_an_event_and_only_downloads_are_counted(counted):
    today = datetime.now(UTC).date()

    result = totals(counted.id, today, today)

    assert result["events"] == sum(request[4] for request in REQUESTS)
    assert result["downloads"] == sum(expected(0).values()) == 14
    assert result["bot_downloads"] == 2


def test_downloads_are_counted_per_package_and_version(counted):
    today = datetime.now(UTC).date()

    by_package = {row["value"]: row["count"] for row in top(counted.id, "package", today, today)}
    by_version = time_series(counted.id, today, today, breakdown="version")

    assert by_package == dict(expected(0))
    assert {row["value"]: row["count"] for row in by_version} == dict(expected(1))
    assert {row["period"].date() for row in by_version} == {today}


def test_downloads_are_counted_per_client_and_country(counted):
    today = datetime.now(UTC).date()

    clients = {row["value"]: row["count"] for row in top(counted.id, "client", today, today)}
    countries = {row["value"]: row["count"] for row in top(counted.id, "country", today, today)}
    networks = {row["value"]: row["count"] for row in top(counted.id, "asn_org", today, today)}

    assert clients == {"docker": 6, "pip": 3, "curl": 5}
    assert countries == {"DE": 4, "FR": 5, "JP": 5}
    assert networks == {
        "Example Carrier GmbH": 4,
        "Exemple Télécom SA": 5,
        "Example Networks KK": 5,
    }


def test_downloads_are_counted_per_day(counted):
    today = datetime.now(UTC).date()

    days = time_series(counted.id, today, today, interval="day")
    hours = time_series(counted.id, today, today, interval="hour")

    assert [(row["period"].date(), row["count"]) for row in days] == [(today, 14)]
    assert sum(row["count"] for row in hours) == 14
