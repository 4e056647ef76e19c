"""What ingestion learns from an event's User-Agent, capture and IP."""

from datetime import date

import pytest

from apps.analytics import enrichment
from apps.analytics.enrichment import Client, describe_client, enrich, is_download

from .conftest import IP_DE, IP_FR, NETWORKS, make_event, use_mmdb

PIP = (
    'pip/24.0 {"ci":true,"cpu":"x86_64","installer":{"name":"pip","version":"24.0"},'
    '"python":"3.12.1","system":{"name":"Linux","release":"6.5.0"}}'
)
UV = (
    'uv/0.4.18 {"installer":{"name":"uv","version":"0.4.18"},"cpu":"aarch64",'
    '"system":{"name":"Darwin"}}'
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)

CLIENTS = [
    (PIP, Client("pip", "24.0", "linux", "x86_64", "ci")),
    (UV, Client("uv", "0.4.18", "macos", "arm64")),
    ("poetry/1.8.2", Client("poetry", "1.8.2")),
    (
        "npm/10.2.4 node/v20.11.0 linux x64 workspaces/false ci/github-actions",
        Client("npm", "10.2.4", "linux", "x86_64", "github-actions"),
    ),
    ("yarn/1.22.19 npm/? node/v18.19.0 darwin arm64", Client("yarn", "1.22.19", "macos", "arm64")),
    ("pnpm/8.15.0 npm/? node/v20.11.0 win32 x64", Client("pnpm", "8.15.0", "windows", "x86_64")),
    ("bun/1.1.0 npm/? node/v22.0.0 linux arm64", Client("bun", "1.1.0", "linux", "arm64")),
    (
        "docker/27.0.3 go/go1.21.11 git-commit/662f78c kernel/6.5.0 os/linux arch/amd64",
        Client("docker", "27.0.3", "linux", "x86_64"),
    ),
    ("containerd/v1.7.13", Client("containerd", "1.7.13")),
    ("libpod/5.0.2", Client("podman", "5.0.2")),
    ("skopeo/1.15.1", Client("skopeo", "1.15.1")),
    (
        "kubelet/v1.29.0 (linux/arm64) kubernetes/3f7a50f",
        Client("kubelet", "1.29.0", "linux", "arm64"),
    ),
    ("curl/8.5.0", Client("curl", "8.5.0")),
    ("Wget/1.21.3", Client("wget", "1.21.3")),
    ("Debian APT-HTTP/1.3 (2.6.1)", Client("apt", "2.6.1")),
    ("curl/8.5.0 GitLab-Runner", Client("curl", "8.5.0", ci="gitlab-ci")),
    ("Artifactory/7.77.5 77705900", Client("artifactory", "7.77.5")),
    ("Nexus/3.61.0-02 (OSS; Linux; amd64)", Client("nexus", "3.61.0-02", arch="x86_64")),
    ("devpi-server/6.10.0 (py3.11.6; linux)", Client("devpi", "6.10.0")),
    ("verdaccio/5.29.0", Client("verdaccio", "5.29.0")),
    (CHROME, Client("chrome", "120", "windows", "x86_64")),
    ("Googlebot/2.1 (+http://www.google.com/bot.html)", Client("googlebot", "2", bot=True)),
    (
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        Client("slackbot-linkexpanding", "1", bot=True),
    ),
    ("facebookexternalhit/1.1", Client("facebookbot", "1", bot=True)),
]


@pytest.mark.parametrize(("user_agent", "client"), CLIENTS, ids=[c[1].name for c in CLIENTS])
def test_the_user_agent_names_client_version_platform_ci_and_bots(user_agent, client):
    assert describe_client(user_agent) == client


DOWNLOADS = [
    ({"kind": "docker", "pull": True}, "GET", 307, "docker-v1", True),
    ({"kind": "docker", "pull": False}, "GET", 307, "docker-v1", False),
    ({"kind": "docker", "pull": True}, "GET", 404, "docker-v1", False),
    ({"kind": "python", "file_name": "a-1.0.tar.gz"}, "GET", 307, "python-v1", True),
    ({"kind": "python", "file_name": "a-1.0.tar.gz"}, "HEAD", 307, "python-v1", False),
    ({"kind": "python", "file_name": None}, "GET", 200, "python-v1", False),
    ({"kind": "npm", "download": True}, "GET", 307, "npm-v1", True),
    ({"kind": "npm", "download": False}, "GET", 200, "npm-v1", False),
    ({"kind": "file", "variables": {}}, "GET", 307, "file-v1", True),
    ({"kind": "file", "variables": {}}, "GET", 200, "file-v2", True),
    ({"kind": "file", "variables": {}}, "GET", 307, "catch-all-v1", False),
    ({"kind": "pixel", "pixel_id": "x"}, "GET", 200, "pixel-v1", False),
    ({"kind": "telemetry", "event": {}}, "POST", 200, "telemetry-v1", False),
]


@pytest.mark.parametrize(("capture", "method", "status", "rule_type", "counted"), DOWNLOADS)
def test_only_a_get_that_leads_to_the_artifact_is_a_download(
    capture, method, status, rule_type, counted
):
    event = make_event(capture=capture, method=method, status=status, rule_type=rule_type)

    assert is_download(event) is counted


def test_country_and_as_organisation_come_from_the_offline_database(test_mmdb):
    german, french, unknown = (
        enrich(make_event(client_ip=ip)) for ip in (IP_DE, IP_FR, "100.64.0.1")
    )

    assert (german["country"], german["asn_org"]) == ("DE", "Example Carrier GmbH")
    assert (french["country"], french["asn_org"]) == ("FR", "Exemple Télécom SA")
    assert (unknown["country"], unknown["asn_org"]) == ("", "")


@pytest.mark.parametrize("address", ["not an address", f"{IP_DE}\x00", "\x00", "1.2.3"])
def test_an_address_that_is_not_one_gets_no_geography_and_the_event_is_kept(test_mmdb, address):
    row = enrich(make_event(client_ip=address))

    assert (row["country"], row["asn_org"]) == ("", "")
    assert row["download"] is True
    assert row["source_id"]


@pytest.fixture
def mmdb(tmp_path, settings):
    """Writes and configures an MMDB of the networks given."""
    yield lambda name, networks: use_mmdb(tmp_path / name, settings, networks)
    enrichment._open_mmdb.cache_clear()


def test_a_network_smaller_than_a_slash_24_is_told_apart_from_the_rest_of_it(mmdb):
    french = "198.51.100.0/24"
    mmdb("split.mmdb", {"192.0.2.0/25": ("DE", "Lower Half GmbH"), french: NETWORKS[french]})
    addresses = ["192.0.2.10", "192.0.2.200", "192.0.2.11", "198.51.100.1", "198.51.100.250"]

    rows = [enrich(make_event(client_ip=ip)) for ip in addresses]

    assert [(row["country"], row["asn_org"]) for row in rows] == [
        ("DE", "Lower Half GmbH"),
        ("", ""),
        ("DE", "Lower Half GmbH"),
        ("FR", "Exemple Télécom SA"),
        ("FR", "Exemple Télécom SA"),
    ]


def test_another_database_is_looked_up_afresh(mmdb):
    mmdb("before.mmdb", NETWORKS)
    assert enrich(make_event(client_ip=IP_FR))["country"] == "FR"

    mmdb("after.mmdb", {"198.51.100.0/24": ("BE", "Exemple Télécom SA")})

    assert enrich(make_event(client_ip=IP_FR))["country"] == "BE"


def test_without_a_database_there_is_no_geography(settings):
    settings.ANALYTICS_COUNTRY_MMDB = settings.ANALYTICS_ASN_MMDB = ""

    row = enrich(make_event(client_ip=IP_DE))

    assert (row["country"], row["asn_org"]) == ("", "")


@pytest.mark.parametrize("header", ["dnt", "gpc"])
def test_do_not_track_and_global_privacy_control_get_no_ip_derived_attribute(test_mmdb, header):
    row = enrich(make_event(client_ip=IP_DE, **{header: True}))

    assert (row["country"], row["asn_org"], row["source_id"]) == ("", "", "")
    assert row["download"] is True
    assert row["client"] == "curl"


def test_the_raw_ip_does_not_survive_enrichment(test_mmdb):
    row = enrich(make_event(client_ip=IP_DE))

    assert "client_ip" not in row
    assert IP_DE not in repr(row)


def test_a_source_is_the_same_within_a_day_and_unlinkable_across_days():
    same_day = {enrichment.source_id(IP_DE, "curl/8.5.0", "2026-11-28") for _ in range(2)}
    next_day = enrichment.source_id(IP_DE, "curl/8.5.0", "2026-11-29")
    other_agent = enrichment.source_id(IP_DE, "Wget/1.21.3", "2026-11-28")

    assert len(same_day) == 1
    assert next_day not in same_day
    assert other_agent not in same_day


def test_the_daily_salt_is_random_and_kept_in_the_shared_cache(redis_db):
    from django.core.cache import cache

    day = date.today().isoformat()
    enrichment._keys.clear()
    enrichment.source_id(IP_DE, "curl/8.5.0", day)

    key = f"{enrichment.SALT_KEY}{day}"
    assert len(bytes.fromhex(cache.get(key))) == 32
    assert 0 < redis_db.ttl(cache.make_and_validate_key(key)) <= 2 * 24 * 3600
