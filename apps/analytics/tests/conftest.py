"""Fixtures for analytics tests: a test MMDB, recorded events, ingestion."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from apps.analytics import enrichment
from apps.analytics.consumer import StreamConsumer
from apps.analytics.events import EVENTS_STREAM, dump_events
from apps.gateway.recording import uuid7
from apps.gateway.tests.conftest import (  # noqa: F401 - the gateway's fixtures, shared
    acme,
    every_rule_type,
    gateway_server,
)

# Documentation networks (RFC 5737) placed in test countries and AS organisations.
NETWORKS = {
    "192.0.2.0/24": ("DE", "Example Carrier GmbH"),
    "198.51.100.0/24": ("FR", "Exemple Télécom SA"),
    "203.0.113.0/24": ("JP", "Example Networks KK"),
}
IP_DE, IP_FR, IP_JP = "192.0.2.10", "198.51.100.20", "203.0.113.30"
CURL = "curl/8.5.0"


@pytest.fixture
def test_mmdb(tmp_path, settings) -> Path:
    """One MMDB holding both the country and the AS organisation of NETWORKS,
    configured as both analytics databases."""
    yield use_mmdb(tmp_path / "test.mmdb", settings, NETWORKS)
    enrichment._open_mmdb.cache_clear()


def use_mmdb(path: Path, settings, networks: dict[str, tuple[str, str]]) -> Path:
    """Write an MMDB placing each network in its (country, AS organisation)
    at `path`, configured as both analytics databases."""
    writer = MMDBWriter(ip_version=6, database_type="scarf-test", ipv4_compatible=True)
    for network, (country, organisation) in networks.items():
        writer.insert_network(
            IPSet([network]),
            {"country_code": country, "autonomous_system_organization": organisation},
        )
    writer.to_db_file(str(path))
    settings.ANALYTICS_COUNTRY_MMDB = str(path)
    settings.ANALYTICS_ASN_MMDB = str(path)
    enrichment._open_mmdb.cache_clear()
    return path


def make_event(**fields) -> dict:
    """An event as the gateway records it: by default a curl download of cli 1.0."""
    event = {
        "id": uuid7(),
        "timestamp": datetime.now(UTC).isoformat(),
        "domain": "get.acme.test",
        "organisation": 1,
        "rule_id": 1,
        "rule_type": "file-v1",
        "package": "cli",
        "method": "GET",
        "path": "/cli/1.0/cli.tgz",
        "status": 307,
        "target": "https://files.example.com/cli/1.0/cli.tgz",
        "capture": {"kind": "file", "variables": {"version": "1.0", "file": "cli.tgz"}},
        "user_agent": CURL,
        "referer": "",
        "client_ip": IP_DE,
        "dnt": False,
        "gpc": False,
    }
    return event | fields


def add_to_stream(redis_db, events: list[dict]) -> None:
    """One stream entry per event, so tests can stop a consumer between events."""
    for event in events:
        redis_db.xadd(EVENTS_STREAM, {"events": dump_events([event])})


def consumer(redis_db, name: str = "test-consumer", **options) -> StreamConsumer:
    return StreamConsumer(redis_db, name, **options)


def ingest(events: list[dict]) -> int:
    """Store events the way the stream consumer does."""
    from apps.analytics.ingest import store_events

    return store_events(events)


# A small mix of downloads for the filter tests (API and dashboard): versions
# 1.0 and 2.0 of cli, by curl from Germany unless told, one by docker from
# France, one by npm in CI, one by a bot.
DOCKER_AGENT = "docker/27.0.1 go/go1.22 os/linux arch/amd64"
NPM_IN_CI = "npm/10.2.3 node/v20.11.0 linux x64 workspaces/false ci/github-actions"
GOOGLEBOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"


def cli_download(organisation, version: str = "1.0", **fields) -> dict:
    """A download of cli `version` today, by curl from Germany unless told."""
    today = datetime.now(UTC).date().isoformat()
    return make_event(
        organisation=organisation.id,
        timestamp=f"{today}T10:00:00+00:00",
        path=f"/cli/{version}/cli.tgz",
        capture={"kind": "file", "variables": {"version": version, "file": "cli.tgz"}},
        **fields,
    )


def ingest_mixed_downloads(organisation) -> None:
    ingest(
        [
            cli_download(organisation, "1.0"),
            cli_download(organisation, "1.0", user_agent=DOCKER_AGENT, client_ip=IP_FR),
            cli_download(organisation, "2.0"),
            cli_download(organisation, "2.0", user_agent=NPM_IN_CI),
            cli_download(organisation, "2.0", user_agent=GOOGLEBOT),
        ]
    )
