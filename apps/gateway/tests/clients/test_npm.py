"""Real npm installs through npm-v1 rules on a real gateway server (GATEWAY-DECISIONS §5, §10).

Two real packages are built with `npm pack` and served by a static npm
registry on 127.0.0.1. npm is pointed at `http://get.acme.test/` with the
gateway as its HTTP proxy: packuments come from the gateway (tarball URLs
rewritten to our domain), tarball requests come back to the gateway and are
redirected to the static registry, which npm reaches directly. npm checks each
tarball against `dist.integrity`, so an install that succeeds proves the bytes
and the metadata passed through unchanged.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import subprocess
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.gateway.tests.conftest import LOOPBACK_DOMAIN, through_gateway
from apps.gateway.tests.test_serving_end_to_end import recorded_events
from apps.packages.manifests import import_manifest

pytestmark = pytest.mark.slow

DOMAIN = "get.acme.test"
ABBREVIATED = "application/vnd.npm.install-v1+json"


@dataclass(frozen=True)
class Package:
    """A package built with `npm pack`, and where the registry serves it."""

    name: str
    tarball: bytes
    tarball_path: str  # on the registry, as npm's own registry lays it out
    index_js: str

    @property
    def packument_path(self) -> str:
        return "/" + self.name.replace("/", "%2f")

    @property
    def integrity(self) -> str:
        return "sha512-" + base64.b64encode(hashlib.sha512(self.tarball).digest()).decode()

    @property
    def shasum(self) -> str:
        return hashlib.sha1(self.tarball).hexdigest()  # noqa: S324 - npm's legacy checksum


def npm_pack(source: Path, name: str, index_js: str, destination: Path) -> bytes:
    """Build a real package tarball with `npm pack`."""
    source.mkdir(parents=True)
    (source / "package.json").write_text(
        json.dumps({"name": name, "version": "1.0.0", "main": "index.js", "license": "MIT"})
    )
    (source / "index.js").write_text(index_js)
    destination.mkdir(exist_ok=True)
    packed = subprocess.run(
        ["npm", "pack", "--json", "--pack-destination", str(destination)],
        cwd=source,
        env=npm_environment(source / "cache"),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return (destination / json.loads(packed.stdout)[0]["filename"]).read_bytes()


@pytest.fixture(scope="module")
def packages(tmp_path_factory) -> list[Package]:
    work = tmp_path_factory.mktemp("npm-packages")
    greet_js = "module.exports = (who) => `Hello, ${who}!`;\n"
    util_js = "module.exports.twice = (n) => n * 2;\n"
    return [
        Package(
            "acme-greet",
            npm_pack(work / "greet", "acme-greet", greet_js, work / "dist"),
            "/acme-greet/-/acme-greet-1.0.0.tgz",
            greet_js,
        ),
        Package(
            "@acme/util",
            npm_pack(work / "util", "@acme/util", util_js, work / "dist"),
            "/@acme/util/-/util-1.0.0.tgz",
            util_js,
        ),
    ]


class StaticRegistry:
    """A static npm registry on 127.0.0.1 that remembers every request.

    It answers abbreviated packuments to clients that ask for them (as real
    registries do) and full ones otherwise; `integrity` overrides a package's
    `dist.integrity`, to serve a wrong one.
    """

    def __init__(self, packages: list[Package], integrity: dict[str, str] | None = None):
        self.requests: list[tuple[str, str]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.documents: dict[str, tuple[bytes, bytes]] = {}
        self.tarballs: dict[str, bytes] = {}
        for package in packages:
            dist = {
                "tarball": self.url + package.tarball_path,
                "shasum": package.shasum,
                "integrity": (integrity or {}).get(package.name, package.integrity),
            }
            self.documents[package.packument_path] = packuments(package.name, dist)
            self.tarballs[package.tarball_path] = package.tarball
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                # urllib3 (the gateway's client) sends `%2f` upper-cased, npm lower-cased.
                path, accept = self.path.replace("%2F", "%2f"), self.headers.get("Accept", "")
                registry.requests.append((path, accept))
                content_type, body = registry.answer(path, accept)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format, *args):
                pass

        return Handler

    def answer(self, path: str, accept: str) -> tuple[str, bytes | None]:
        if path in self.tarballs:
            return "application/octet-stream", self.tarballs[path]
        if path not in self.documents:
            return "application/json", None
        full, abbreviated = self.documents[path]
        if ABBREVIATED in accept:
            return ABBREVIATED, abbreviated
        return "application/json", full

    def paths(self) -> list[str]:
        return [path for path, _accept in self.requests]

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


def packuments(name: str, dist: dict) -> tuple[bytes, bytes]:
    """The full and the abbreviated packument of version 1.0.0 of `name`."""
    manifest = {"name": name, "version": "1.0.0", "main": "index.js", "license": "MIT"}
    full = {
        "name": name,
        "description": f"{name} for tests",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {**manifest, "dist": dist}},
        "time": {"1.0.0": "2024-01-01T00:00:00.000Z"},
    }
    abbreviated = {
        "name": name,
        "modified": "2024-01-01T00:00:00.000Z",
        "dist-tags": {"latest": "1.0.0"},
        "versions": {"1.0.0": {"name": name, "version": "1.0.0", "dist": dist}},
    }
    return json.dumps(full).encode(), json.dumps(abbreviated).encode()


@pytest.fixture
def registry(packages):
    registry = StaticRegistry(packages)
    yield registry
    registry.stop()


def npm_manifest(registry_url: str) -> dict:
    return {
        "rules": [
            {
                "type": "npm-v1",
                "domain": DOMAIN,
                "package-id": "pkg-greet",
                "package-name": "acme-greet",
                "registry": registry_url,
            },
            {
                "type": "npm-v1",
                "domain": DOMAIN,
                "package-id": "pkg-acme-scope",
                "package-name": "@acme/*",
                "registry": registry_url,
            },
        ]
    }


def npm_environment(cache: Path) -> dict[str, str]:
    """This machine's environment without npm settings or proxies of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.lower().startswith("npm_") and "proxy" not in key.lower()
    }
    return {**env, "npm_config_cache": str(cache), "npm_config_update_notifier": "false"}


def npm_install(
    server, workdir: Path, *packages: str, registry: str | None = None
) -> subprocess.CompletedProcess:
    """`npm install` into a new project under `workdir`, with a throwaway cache
    and user config, through the gateway as npm's HTTP proxy, at `registry`
    (default: our domain on port 80)."""
    project, cache, userconfig = workdir / "project", workdir / "cache", workdir / "npmrc"
    project.mkdir(parents=True)
    userconfig.write_text("")
    proxy = ("--proxy", through_gateway(server)["http_proxy"])
    return subprocess.run(
        [
            "npm",
            "install",
            *("--registry", registry or f"http://{DOMAIN}/"),
            *proxy,
            *("--noproxy", "127.0.0.1"),
            *("--cache", str(cache)),
            *("--userconfig", str(userconfig)),
            *("--fetch-retries", "0"),
            "--no-audit",
            "--no-fund",
            *packages,
        ],
        cwd=project,
        env=npm_environment(cache),
        capture_output=True,
        text=True,
        timeout=180,
    )


def fetch_packument(server, path: str) -> tuple[int, bytes]:
    """GET a packument from the gateway directly, with npm's Accept header."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.request("GET", path, headers={"Host": DOMAIN, "Accept": ABBREVIATED})
    response = connection.getresponse()
    result = response.status, response.read()
    connection.close()
    return result


@pytest.fixture
def server(gateway_server, acme, registry):
    import_manifest(acme, npm_manifest(registry.url), verify_domains=True)
    return gateway_server.start()


def test_npm_installs_plain_and_scoped_packages_through_the_gateway(
    server, registry, packages, tmp_path
):
    result = npm_install(server, tmp_path, "acme-greet", "@acme/util")

    assert result.returncode == 0, result.stderr
    project = tmp_path / "project"
    for package in packages:
        assert (project / "node_modules" / package.name / "index.js").read_text() == (
            package.index_js
        )
    lock = json.loads((project / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/acme-greet"]["resolved"] == (
        f"http://{DOMAIN}/acme-greet/-/acme-greet-1.0.0.tgz"
    )
    assert lock["node_modules/@acme/util"]["resolved"] == (
        f"http://{DOMAIN}/@acme/util/-/util-1.0.0.tgz"
    )
    for package in packages:
        assert lock[f"node_modules/{package.name}"]["integrity"] == package.integrity
    greeting = subprocess.run(
        ["node", "-e", "console.log(require('acme-greet')('npm'))"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert greeting.stdout == "Hello, npm!\n"


def test_the_gateway_passes_on_which_packument_npm_asks_for_and_caches_each(
    server, registry, tmp_path
):
    npm_install(server, tmp_path, "acme-greet", "@acme/util")

    # npm asks for the full packument of a package it adds, then the
    # abbreviated one; the tarball lookups are answered from the cache.
    packument_requests = sorted(
        (path, accept.startswith(ABBREVIATED))
        for path, accept in registry.requests
        if not path.endswith(".tgz")
    )
    assert packument_requests == [
        ("/@acme%2futil", False),
        ("/@acme%2futil", True),
        ("/acme-greet", False),
        ("/acme-greet", True),
    ]
    # npm followed the gateway's redirects to the registry's own tarball URLs.
    assert sorted(path for path in registry.paths() if path.endswith(".tgz")) == [
        "/@acme/util/-/util-1.0.0.tgz",
        "/acme-greet/-/acme-greet-1.0.0.tgz",
    ]


def test_every_packument_and_tarball_request_is_recorded(server, registry, redis_db, tmp_path):
    npm_install(server, tmp_path, "acme-greet", "@acme/util")

    events = {event["path"]: event for event in recorded_events(redis_db)}
    assert set(events) == {
        "/acme-greet",
        "/@acme%2futil",
        "/acme-greet/-/acme-greet-1.0.0.tgz",
        "/@acme/util/-/util-1.0.0.tgz",
    }
    assert all(event["rule_type"] == "npm-v1" for event in events.values())
    assert all(event["user_agent"].startswith("npm/") for event in events.values())
    assert all(event["domain"] == DOMAIN for event in events.values())

    greet, util = events["/acme-greet"], events["/@acme%2futil"]
    assert (greet["package"], greet["status"]) == ("pkg-greet", 200)
    assert (util["package"], util["status"]) == ("pkg-acme-scope", 200)
    assert util["capture"]["name"] == "@acme/util"
    assert not greet["capture"]["download"]

    tarball = events["/@acme/util/-/util-1.0.0.tgz"]
    assert tarball["status"] == 307
    assert tarball["target"] == registry.url + "/@acme/util/-/util-1.0.0.tgz"
    assert tarball["package"] == "pkg-acme-scope"
    assert tarball["capture"] == {
        "kind": "npm",
        "name": "@acme/util",
        "version": "1.0.0",
        "file_name": "util-1.0.0.tgz",
        "backend_url": registry.url + "/@acme/util/-/util-1.0.0.tgz",
        "download": True,
    }
    assert events["/acme-greet/-/acme-greet-1.0.0.tgz"]["capture"]["version"] == "1.0.0"


def test_npm_refuses_a_tarball_whose_integrity_does_not_match(
    gateway_server, acme, packages, tmp_path
):
    wrong = "sha512-" + base64.b64encode(hashlib.sha512(b"tampered").digest()).decode()
    registry = StaticRegistry(packages, integrity={"acme-greet": wrong})
    try:
        import_manifest(acme, npm_manifest(registry.url), verify_domains=True)
        server = gateway_server.start()

        result = npm_install(server, tmp_path, "acme-greet")
    finally:
        registry.stop()

    assert result.returncode != 0
    assert "EINTEGRITY" in result.stderr
    assert not (tmp_path / "project" / "node_modules" / "acme-greet").exists()


def test_packuments_are_served_stale_when_the_registry_is_down(
    gateway_server, acme, registry, redis_db, tmp_path
):
    gateway_server.env["UPSTREAM_CACHE_TTL"] = "0"  # every request goes to the registry
    import_manifest(acme, npm_manifest(registry.url), verify_domains=True)
    server = gateway_server.start()
    first = npm_install(server, tmp_path / "first", "acme-greet", "@acme/util")
    assert first.returncode == 0, first.stderr
    before = fetch_packument(server, "/acme-greet")
    recorded_before = len(recorded_events(redis_db))

    registry.stop()
    second = npm_install(server, tmp_path / "second", "acme-greet", "@acme/util")

    # The packuments still come (stale), so npm gets as far as the registry's
    # tarball URL; the tarball cannot come, the registry is down.
    assert second.returncode != 0
    assert f"{registry.url}/" in second.stderr, second.stderr
    assert fetch_packument(server, "/acme-greet") == before
    assert before[0] == 200
    later = recorded_events(redis_db)[recorded_before:]
    packument_events = [event for event in later if not event["path"].endswith(".tgz")]
    assert {event["path"] for event in packument_events} >= {"/acme-greet", "/@acme%2futil"}
    assert all(event["status"] == 200 for event in packument_events)
    assert any(event["status"] == 307 for event in later if event["path"].endswith(".tgz"))
    assert f"upstream {registry.url}/acme-greet failed" in server.output()


def test_npm_installs_from_the_gateway_on_a_non_default_port(
    direct_server, registry, packages, tmp_path
):
    server = direct_server(
        [
            {
                "type": "npm-v1",
                "domain": LOOPBACK_DOMAIN,
                "package-id": "pkg-greet",
                "package-name": "acme-greet",
                "registry": registry.url,
            }
        ]
    )
    gateway = f"http://{LOOPBACK_DOMAIN}:{server.port}/"

    result = npm_install(server, tmp_path, "acme-greet", registry=gateway)

    assert result.returncode == 0, result.stderr
    project = tmp_path / "project"
    lock = json.loads((project / "package-lock.json").read_text())["packages"]
    assert lock["node_modules/acme-greet"]["resolved"] == (
        f"{gateway}acme-greet/-/acme-greet-1.0.0.tgz"
    )
    assert (project / "node_modules" / "acme-greet" / "index.js").exists()
    # The tarball came back through the gateway (counted), then from the registry.
    assert "/acme-greet/-/acme-greet-1.0.0.tgz" in registry.paths()
