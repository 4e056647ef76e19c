"""Enrichment: what a raw event says about who downloaded what, without the IP.

From the User-Agent: the client tool and version, OS and architecture, CI
system, bot or link previewer, mirror/caching proxy. The package tools (pip,
npm, docker, ...) write their own User-Agent formats that general parsers do
not know, so those are recognised here; everything else goes to `ua-parser`
(browsers and the long tail) and to the `crawler-user-agents` list (bots and
link previewers). From the IP: country and ASN organisation, read from offline
MMDB files, and the source id, a keyed hash of IP + User-Agent under a random
salt that is replaced every day. Events that carry `DNT: 1` or `Sec-GPC: 1`
get no IP-derived attribute at all. The raw IP goes no further than `enrich`.
"""

from __future__ import annotations

import json
import re
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import crawleruseragents
import maxminddb
import ua_parser
from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.signals import setting_changed
from django.dispatch import receiver

from .networks import NetworkRanges

MAX_VALUE = 200


@dataclass(frozen=True)
class Client:
    name: str = ""
    version: str = ""
    os: str = ""
    arch: str = ""
    ci: str = ""
    bot: bool = False


def _patterns(table: list[tuple[str, str]]) -> list[tuple[str, re.Pattern]]:
    return [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in table]


# Mirrors and caching proxies first: they often repeat the client's own token.
_TOOLS = _patterns(
    [
        ("artifactory", r"\bArtifactory/v?([\w.+-]+)"),
        ("nexus", r"\bNexus/v?([\w.+-]+)"),
        ("harbor", r"\bharbor(?:-registry-client|-core)?/v?([\w.+-]+)"),
        ("devpi", r"\bdevpi-server/v?([\w.+-]+)"),
        ("verdaccio", r"\bverdaccio/v?([\w.+-]+)"),
        ("pip", r"^pip/([\w.+-]+)"),
        ("uv", r"^uv/([\w.+-]+)"),
        ("poetry", r"^poetry/([\w.+-]+)"),
        ("pipenv", r"\bpipenv/([\w.+-]+)"),
        ("pnpm", r"^pnpm/([\w.+-]+)"),
        ("yarn", r"^yarn/([\w.+-]+)"),
        ("bun", r"^bun/([\w.+-]+)"),
        ("npm", r"^npm/([\w.+-]+)"),
        ("docker", r"^docker/([\w.+-]+)"),
        ("containerd", r"^containerd/v?([\w.+-]+)"),
        ("cri-o", r"^cri-o/v?([\w.+-]+)"),
        ("podman", r"^(?:libpod|podman)/v?([\w.+-]+)"),
        ("skopeo", r"^skopeo/v?([\w.+-]+)"),
        ("containers-image", r"^containers/([\w.+-]+)"),
        ("kubelet", r"^kubelet/v?([\w.+-]+)"),
        ("curl", r"^curl/([\w.+-]+)"),
        ("wget", r"^wget/([\w.+-]+)"),
        ("apt", r"\bAPT-HTTP/[\w.]+ \(([\w.~+-]+)\)"),
    ]
)

_CI_MARKERS = _patterns(
    [
        ("github-actions", r"github[-_ ]?actions"),
        ("gitlab-ci", r"gitlab[-_ ]?(?:ci|runner)"),
        ("circleci", r"circle[-_ ]?ci"),
        ("jenkins", r"jenkins"),
        ("travis-ci", r"travis"),
        ("buildkite", r"buildkite"),
        ("azure-pipelines", r"azure[-_ ]?pipelines|\btf_build\b"),
        ("bitbucket-pipelines", r"bitbucket[-_ ]?pipelines"),
        ("teamcity", r"teamcity"),
        ("drone", r"\bdrone[-_ ]?ci\b"),
        ("appveyor", r"appveyor"),
        ("aws-codebuild", r"codebuild"),
    ]
)
_NPM_CI = re.compile(r"\bci/([\w.-]+)")
_NODE_PLATFORM = re.compile(r"\bnode/v?[\w.]+ (\w+) (\w+)")
_KEYED_PLATFORM = re.compile(r"\bos/(\w+).*?\barch/(\w+)")
_SLASHED_PLATFORM = re.compile(r"\((linux|darwin|windows|freebsd)/(\w+)\)", re.IGNORECASE)
_ARCH = re.compile(r"\b(x86_64|amd64|x64|aarch64|arm64|armv7l|armv6l|i[3-6]86|ppc64le|s390x)\b")

_ARCH_NAMES = {"amd64": "x86_64", "x64": "x86_64", "aarch64": "arm64", "i386": "x86", "i686": "x86"}
_OS_NAMES = {
    "darwin": "macos",
    "mac os x": "macos",
    "win32": "windows",
    "windows": "windows",
    "ubuntu": "linux",
    "debian": "linux",
    "fedora": "linux",
}


def normalise_os(name: str) -> str:
    name = name.strip().lower()
    return _OS_NAMES.get(name, name)


def normalise_arch(name: str) -> str:
    name = name.strip().lower()
    return _ARCH_NAMES.get(name, name)


@lru_cache(maxsize=20_000)
def describe_client(user_agent: str) -> Client:
    """Everything the User-Agent tells; cached, as a few agents make most traffic."""
    tool = _tool(user_agent)
    if tool is not None:
        name, version = tool
        os_name, arch = _platform(user_agent)
        return Client(name, version[:50], os_name, arch, _ci(user_agent))
    return _general_client(user_agent)


def _tool(user_agent: str) -> tuple[str, str] | None:
    for name, pattern in _TOOLS:
        found = pattern.search(user_agent)
        if found:
            return name, found.group(1)
    return None


def _platform(user_agent: str) -> tuple[str, str]:
    """OS and architecture from the formats package tools use."""
    details = _embedded_json(user_agent)
    if details:
        system = details.get("system") or {}
        return normalise_os(str(system.get("name") or "")), normalise_arch(
            str(details.get("cpu") or "")
        )
    for pattern in (_NODE_PLATFORM, _KEYED_PLATFORM, _SLASHED_PLATFORM):
        found = pattern.search(user_agent)
        if found:
            return normalise_os(found.group(1)), normalise_arch(found.group(2))
    arch = _ARCH.search(user_agent)
    return "", normalise_arch(arch.group(1)) if arch else ""


def _embedded_json(user_agent: str) -> dict[str, Any]:
    """pip and uv append a JSON object describing the environment."""
    start = user_agent.find("{")
    if start < 0:
        return {}
    try:
        details = json.loads(user_agent[start:])
    except ValueError:
        return {}
    return details if isinstance(details, dict) else {}


def _ci(user_agent: str) -> str:
    """The CI system: npm's `ci/<name>`, a known marker, or pip's `"ci": true`."""
    found = _NPM_CI.search(user_agent)
    if found:
        return found.group(1).lower()
    for name, pattern in _CI_MARKERS:
        if pattern.search(user_agent):
            return name
    return "ci" if _embedded_json(user_agent).get("ci") is True else ""


def _general_client(user_agent: str) -> Client:
    result = ua_parser.parse(user_agent)
    agent, system, device = result.user_agent, result.os, result.device
    arch = _ARCH.search(user_agent)
    return Client(
        name=(agent.family.lower() if agent and agent.family != "Other" else "")[:50],
        version=(agent.major or "") if agent else "",
        os=normalise_os(system.family) if system and system.family != "Other" else "",
        arch=normalise_arch(arch.group(1)) if arch else "",
        ci=_ci(user_agent),
        bot=(device is not None and device.family == "Spider") or is_bot(user_agent),
    )


@cache
def _bot_patterns() -> re.Pattern:
    """The crawler list without its plain HTTP libraries (curl, requests, Go):
    those are how real users download, not bots."""
    patterns = [
        entry["pattern"]
        for entry in crawleruseragents.CRAWLER_USER_AGENTS_DATA
        if "http-library" not in entry.get("tags", ())
    ]
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


def is_bot(user_agent: str) -> bool:
    return bool(user_agent) and _bot_patterns().search(user_agent) is not None


# Geography, from offline MMDB files.


@cache
def _open_mmdb(path: str) -> maxminddb.Reader | None:
    return maxminddb.open_database(path) if path else None


_readers: dict[str, maxminddb.Reader | NetworkRanges | None] = {}


@receiver(setting_changed)
def _forget_readers(setting: str, **_) -> None:
    if setting in ("ANALYTICS_COUNTRY_MMDB", "ANALYTICS_ASN_MMDB", "ANALYTICS_ASN_RANGES"):
        _readers.clear()
        _located.clear()


def _reader(setting: str) -> maxminddb.Reader | None:
    """The open MMDB a setting names (reading settings per event costs more than the lookup)."""
    try:
        return _readers[setting]
    except KeyError:
        reader = _readers[setting] = _open_mmdb(getattr(settings, setting))
        return reader


def _lookup(setting: str, ip: str) -> tuple[dict[str, Any], bool]:
    """The record of `ip` in the MMDB a setting names, and whether every
    address of its /24 network has the same (for an IPv4 address)."""
    reader = _reader(setting)
    if reader is None:
        return {}, True
    try:
        record, prefix = reader.get_with_prefix_len(ip)
    except (TypeError, ValueError):  # not an address (TypeError: a NUL in it)
        return {}, False
    return (record if isinstance(record, dict) else {}), prefix <= 24


@cache
def _load_ranges(path: str) -> NetworkRanges | None:
    return NetworkRanges.load(path) if path else None


def _ranges() -> NetworkRanges | None:
    """The network ranges ANALYTICS_ASN_RANGES names, unless an ASN MMDB is set."""
    try:
        return _readers["ANALYTICS_ASN_RANGES"]
    except KeyError:
        path = "" if settings.ANALYTICS_ASN_MMDB else settings.ANALYTICS_ASN_RANGES
        ranges = _readers["ANALYTICS_ASN_RANGES"] = _load_ranges(path)
        return ranges


def geo_databases() -> dict[str, Any]:
    """Whether ingestion can look up countries and networks: for "country" and
    "asn", "on", "missing" (a path is set but no database can be read there) or
    "off" (none set); "credit_nro" when the country database is the one
    scripts/geo.sh installs, whose NRO data asks for attribution, and
    "credit_asn" when networks come from its ranges (DB-IP's and RouteViews')."""
    country_path = settings.ANALYTICS_COUNTRY_MMDB
    credit = bool(country_path) and Path(country_path).with_name("country.NRO_LICENSE").is_file()
    states: dict[str, Any] = {"credit_nro": credit, "credit_asn": False}
    for name, setting in (("country", "ANALYTICS_COUNTRY_MMDB"), ("asn", "ANALYTICS_ASN_MMDB")):
        try:
            states[name] = "on" if _reader(setting) else "off"
        except (OSError, maxminddb.InvalidDatabaseError):
            states[name] = "missing"
    ranges = settings.ANALYTICS_ASN_RANGES
    if states["asn"] == "off" and ranges:
        try:
            NetworkRanges.check(ranges)
            states["asn"] = "on"
            states["credit_asn"] = True
        except (OSError, ValueError):
            states["asn"] = "missing"
    return states


def country(ip: str) -> str:
    """ISO code from the country MMDB: ip-location-db's `country_code` or
    GeoLite2/DB-IP's `country.iso_code`."""
    return _country(ip)[0]


def _country(ip: str) -> tuple[str, bool]:
    record, whole_network = _lookup("ANALYTICS_COUNTRY_MMDB", ip)
    code = record.get("country_code") or (record.get("country") or {}).get("iso_code") or ""
    return str(code).upper()[:2], whole_network


def asn_org(ip: str) -> str:
    """AS organisation from the ASN MMDB (GeoLite2-ASN / DB-IP ASN Lite fields),
    or else from the network ranges scripts/geo.sh installs."""
    return _asn_org(ip)[0]


def _asn_org(ip: str) -> tuple[str, bool]:
    ranges = _ranges()
    if ranges is not None:
        organisation, whole_network = ranges.organisation_of_network(ip)
        return organisation[:MAX_VALUE], whole_network
    record, whole_network = _lookup("ANALYTICS_ASN_MMDB", ip)
    return str(record.get("autonomous_system_organization") or "")[:MAX_VALUE], whole_network


# (country, AS organisation) of IPv4 /24 networks whose every address has them.
_located: dict[bytes, tuple[str, str]] = {}
LOCATED_NETWORKS = 100_000


def located(ip: str) -> tuple[str, str]:
    """`country(ip)` and `asn_org(ip)`. Ingestion looks them up for every
    event, and most events come from few networks: the answers are kept for
    an IPv4 /24 when the databases say all its addresses share them (up to
    LOCATED_NETWORKS networks, then forgotten together)."""
    try:
        network = socket.inet_pton(socket.AF_INET, ip)[:3]
    except (OSError, ValueError):  # IPv6, or not an address
        return country(ip), asn_org(ip)
    found = _located.get(network)
    if found is None:
        (code, whole_country), (organisation, whole_asn) = _country(ip), _asn_org(ip)
        found = code, organisation
        if whole_country and whole_asn:
            if len(_located) >= LOCATED_NETWORKS:
                _located.clear()
            _located[network] = found
    return found


# Source ids.

SALT_KEY = "analytics:salt:"
SALT_LIFETIME = 2 * 24 * 3600
_keys: dict[str, tuple[Any, Any]] = {}

try:  # CPython's own SHA-256: its copies are cheaper than OpenSSL's contexts
    from _sha256 import sha256 as _sha256
except ImportError:  # pragma: no cover - other Pythons
    try:
        from _sha2 import sha256 as _sha256
    except ImportError:
        from hashlib import sha256 as _sha256


def daily_key(day: str) -> tuple[Any, Any]:
    """HMAC-SHA256 keyed with the random salt of `day` (YYYY-MM-DD), as
    its inner and outer hashes, ready to copy (RFC 2104).

    The salt is shared by every ingesting process through the cache (Redis
    in production) and forgotten two days later: past that, a source id
    cannot be recomputed from an IP, and no day links to another."""
    key = _keys.get(day)
    if key is None:
        name = f"{SALT_KEY}{day}"
        django_cache.add(name, secrets.token_hex(32), SALT_LIFETIME)
        salt = bytes.fromhex(django_cache.get(name)).ljust(64, b"\0")
        key = _sha256(bytes(b ^ 0x36 for b in salt)), _sha256(bytes(b ^ 0x5C for b in salt))
        for old in [known for known in _keys if known < day]:
            del _keys[old]
        _keys[day] = key
    return key


def source_id(ip: str, user_agent: str, day: str) -> str:
    """HMAC-SHA256(salt of the day, IP + User-Agent), shortened."""
    inner, outer = daily_key(day)
    inner, outer = inner.copy(), outer.copy()
    inner.update(f"{ip}\n{user_agent}".encode())
    outer.update(inner.digest())
    return outer.hexdigest()[:32]


def utc_timestamp(value: str) -> str:
    """The event time as UTC ISO text (the gateway already writes it so)."""
    if value.endswith("+00:00"):
        return value
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


# Events.


def is_download(event: dict[str, Any]) -> bool:
    """Counting semantics (README, "Analytics"): a GET that leads to the artifact."""
    capture = event["capture"]
    if event["method"] != "GET" or event["status"] >= 400:
        return False
    kind = capture.get("kind")
    if kind == "docker":
        return bool(capture.get("pull"))
    if kind == "python":
        return bool(capture.get("file_name"))
    if kind == "npm":
        return bool(capture.get("download"))
    return kind == "file" and event["rule_type"] in ("file-v1", "file-v2")


def version_of(capture: dict[str, Any]) -> str:
    kind = capture.get("kind")
    if kind == "docker":
        version = capture.get("reference")
    elif kind == "file":
        version = (capture.get("variables") or {}).get("version")
    else:
        version = capture.get("version")
    return str(version or "")[:MAX_VALUE]


def referer_host(referer: str) -> str:
    try:
        return (urlsplit(referer).hostname or "")[:MAX_VALUE]
    except ValueError:
        return ""


@dataclass(frozen=True)
class Collect:
    """What an organisation lets us keep (its AnalyticsSettings)."""

    country: bool = True
    asn: bool = True
    referer: bool = True


COLLECT_ALL = Collect()


def enrich(event: dict[str, Any], collect: Collect = COLLECT_ALL) -> dict[str, Any]:
    """The stored row for a recorded event: enriched, without `client_ip`,
    its timestamp as UTC ISO text, without what the organisation does not collect."""
    row = dict(event)
    if not collect.referer:
        row["referer"] = ""
    ip = row.pop("client_ip", None) or ""
    organisation = row.pop("organisation")
    timestamp = utc_timestamp(event["timestamp"])
    user_agent = event["user_agent"]
    client = describe_client(user_agent)
    private = event["dnt"] or event["gpc"]
    capture = event["capture"]
    row["organisation_id"] = organisation
    row["timestamp"] = timestamp
    row["download"] = is_download(event)
    row["version"] = version_of(capture)
    row["client"] = client.name
    row["client_version"] = client.version
    row["os"] = client.os
    row["arch"] = client.arch
    row["ci"] = client.ci
    row["bot"] = client.bot
    if private or not ip:
        row["country"] = row["asn_org"] = row["source_id"] = ""
    else:
        looked_up = collect.country or collect.asn
        place, network = located(ip) if looked_up else ("", "")
        row["country"] = place if collect.country else ""
        row["asn_org"] = network if collect.asn else ""
        row["source_id"] = source_id(ip, user_agent, timestamp[:10])
    return row
