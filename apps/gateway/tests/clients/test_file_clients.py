"""curl, wget and apt download through file rules on a real gateway server.

Each client reaches get.acme.test with the gateway as its HTTP proxy
(`through_gateway`), follows the 307 to a local backend on 127.0.0.1 (which it
reaches directly), and must end up with the backend's exact bytes. The backend
logs what it was asked for, so the tests also see what the redirect carried.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import threading
from email.utils import formatdate
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from apps.analytics.events import read_stream_events
from apps.gateway.tests.conftest import through_gateway
from apps.packages.manifests import import_manifest

pytestmark = pytest.mark.slow

RELEASE_BYTES = os.urandom(200_000)
NIGHTLY_BYTES = os.urandom(150_000)


class Backend:
    """A static file server on 127.0.0.1 that remembers every request it got."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, str, str]] = []
        requests = self.requests

        class Handler(SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def send_head(self):
                requests.append((self.command, self.path, self.headers.get("User-Agent", "")))
                return super().send_head()

            def log_message(self, format, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def paths(self) -> list[str]:
        return [path for _method, path, _agent in self.requests]

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
            self.server.server_close()


def manifest(backend_url: str) -> dict:
    return {
        "rules": [
            {
                "type": "file-v1",
                "domain": "get.acme.test",
                "package-id": "acme-cli",
                "incoming-path": "/cli/{version}/{file}",
                "outgoing-url": backend_url + "/releases/v{version}/{file}",
            },
            {
                "type": "file-v2",
                "domain": "get.acme.test",
                "package-id": "acme-nightly",
                "incoming-path": "^/nightly/(?<date>[0-9]{8})/(?<file>[a-z.-]+)$",
                "outgoing-url": backend_url + "/nightlies/{date}/{file}?source=gateway",
            },
            {
                "type": "file-v1",
                "domain": "get.acme.test",
                "package-id": "acme-apt",
                "incoming-path": "/apt/{+path}",
                "outgoing-url": backend_url + "/repo/{+path}",
            },
        ]
    }


@pytest.fixture
def backend(tmp_path):
    root = tmp_path / "backend"
    write(root / "releases/v1.2.3/acme-cli.tar.gz", RELEASE_BYTES)
    write(root / "nightlies/20240501/acme-cli.tar.gz", NIGHTLY_BYTES)
    server = Backend(root)
    yield server
    server.stop()


@pytest.fixture
def gateway(gateway_server, acme, backend):
    import_manifest(acme, manifest(backend.url), verify_domains=True)
    return gateway_server.start()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def without_proxies() -> dict[str, str]:
    """This machine's environment without its proxy settings."""
    return {key: value for key, value in os.environ.items() if "proxy" not in key.lower()}


def client_env(server) -> dict[str, str]:
    return {**without_proxies(), **through_gateway(server)}


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def succeed(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    result = run(command, env, cwd)
    assert result.returncode == 0, (
        f"{command} -> {result.returncode}\n{result.stdout}{result.stderr}"
    )
    return result


def recorded_events(redis_db) -> list[dict]:
    return read_stream_events(redis_db)


def curl(url: str, out: str) -> list[str]:
    return ["curl", "-q", "-sSfL", "-o", out, url]


def wget(url: str, out: str) -> list[str]:
    return ["wget", "--no-config", "-q", "-O", out, url]


@pytest.mark.parametrize(
    ("download", "agent"),
    [(curl, "curl/"), (wget, "Wget/")],
    ids=["curl", "wget"],
)
def test_a_client_downloads_through_template_and_regex_rules_with_the_query_forwarded(
    gateway, backend, tmp_path, redis_db, download, agent
):
    env = client_env(gateway)
    release = "http://get.acme.test/cli/1.2.3/acme-cli.tar.gz?channel=beta&channel=alpha&t=a+b"
    nightly = "http://get.acme.test/nightly/20240501/acme-cli.tar.gz?source=client&arch=arm64"

    succeed(download(release, "release.tgz"), env, tmp_path)
    succeed(download(nightly, "nightly.tgz"), env, tmp_path)

    assert (tmp_path / "release.tgz").read_bytes() == RELEASE_BYTES
    assert (tmp_path / "nightly.tgz").read_bytes() == NIGHTLY_BYTES
    assert backend.paths() == [
        "/releases/v1.2.3/acme-cli.tar.gz?channel=beta&t=a%20b",
        "/nightlies/20240501/acme-cli.tar.gz?source=gateway&arch=arm64",
    ]
    events = recorded_events(redis_db)
    assert [(e["rule_type"], e["package"], e["capture"]["variables"]) for e in events] == [
        ("file-v1", "acme-cli", {"version": "1.2.3", "file": "acme-cli.tar.gz"}),
        ("file-v2", "acme-nightly", {"date": "20240501", "file": "acme-cli.tar.gz"}),
    ]
    assert [e["status"] for e in events] == [307, 307]
    assert [e["domain"] for e in events] == ["get.acme.test", "get.acme.test"]
    assert all(e["user_agent"].startswith(agent) for e in events), events


def test_a_file_rule_still_redirects_when_the_backend_is_down(gateway, backend, tmp_path, redis_db):
    backend.stop()
    env = client_env(gateway)
    url = "http://get.acme.test/cli/1.2.3/acme-cli.tar.gz?channel=beta"
    expected = backend.url + "/releases/v1.2.3/acme-cli.tar.gz?channel=beta"

    get = succeed(
        ["curl", "-q", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", url],
        env,
        tmp_path,
    )
    head = succeed(["curl", "-q", "-sS", "-I", url], env, tmp_path)
    followed = run(curl(url, "never.tgz"), env, tmp_path)

    assert get.stdout == f"307 {expected}"
    assert head.stdout.startswith("HTTP/1.1 307")
    assert f"\nLocation: {expected}\n" in head.stdout
    assert followed.returncode == 7, followed.stderr  # curl: could not connect (to the backend)
    assert backend.requests == []
    assert [(e["method"], e["status"]) for e in recorded_events(redis_db)] == [
        ("GET", 307),
        ("HEAD", 307),
        ("GET", 307),
    ]


# apt ------------------------------------------------------------------------


def build_deb(workdir: Path, name: str, version: str) -> Path:
    """A package with one text file, built with dpkg-deb."""
    root = workdir / name
    control = (
        f"Package: {name}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: Acme <dev@acme.example>\nDescription: Says hello through the gateway\n"
    )
    write(root / "DEBIAN/control", control.encode())
    write(root / f"usr/share/{name}/hello.txt", b"hello from acme\n")
    deb = workdir / f"{name}_{version}_all.deb"
    succeed(["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)], {}, workdir)
    return deb


def scan_packages(repo: Path, under: str) -> dict[str, bytes]:
    """Packages and Packages.gz for every .deb under `repo/under` (paths relative to repo)."""
    scanned = succeed(["dpkg-scanpackages", "--multiversion", under, "/dev/null"], {}, repo)
    packages = scanned.stdout.encode()
    return {"Packages": packages, "Packages.gz": gzip.compress(packages, mtime=0)}


def write_release(directory: Path, indexes: dict[str, bytes], fields: str = "") -> None:
    """The indexes (names relative to `directory`) and an unsigned Release listing them."""
    checksums = ""
    for name, data in indexes.items():
        write(directory / name, data)
        checksums += f" {hashlib.sha256(data).hexdigest()} {len(data)} {name}\n"
    release = f"{fields}Date: {formatdate(usegmt=True)}\nSHA256:\n{checksums}"
    write(directory / "Release", release.encode())


def build_flat_repository(repo: Path, deb: Path) -> None:
    """What `deb [trusted=yes] URL ./` reads: everything in one directory."""
    repo.mkdir(parents=True)
    shutil.copy(deb, repo)
    write_release(repo, scan_packages(repo, "."))


def build_dists_repository(repo: Path, deb: Path, arch: str) -> None:
    """What `deb [trusted=yes] URL stable main` reads: dists/stable/... and pool/."""
    (repo / "pool/main/a").mkdir(parents=True)
    shutil.copy(deb, repo / "pool/main/a")
    indexes = {
        f"main/binary-{arch}/{name}": data for name, data in scan_packages(repo, "pool").items()
    }
    fields = f"Suite: stable\nCodename: stable\nComponents: main\nArchitectures: {arch}\n"
    write_release(repo / "dists/stable", indexes, fields)


def apt_sandbox(workdir: Path, gateway, sources: str) -> dict[str, str]:
    """Environment for apt-get with its own configuration, state and cache under `workdir`.

    APT_CONFIG is read before /etc/apt/apt.conf.d, so the Dir::Etc set there
    keeps the machine's configuration (a proxy, say) out; `-o Dir::Etc::Parts`
    on the command line comes too late for that.
    """
    etc = workdir / "etc"
    write(etc / "sources.list", sources.encode())
    for directory in ["etc/apt.conf.d", "etc/sources.list.d", "etc/preferences.d"]:
        (workdir / directory).mkdir(parents=True)
    for directory in ["state/lists/partial", "cache/archives/partial"]:
        (workdir / directory).mkdir(parents=True)
    write(workdir / "state/status", b"")
    config = f"""
Dir::Etc "{etc}";
Dir::Etc::Parts "{etc}/apt.conf.d";
Dir::Etc::Main "{etc}/apt.conf";
Dir::State "{workdir}/state";
Dir::State::status "{workdir}/state/status";
Dir::Cache "{workdir}/cache";
Debug::NoLocking "true";
APT::Sandbox::User "root";
Acquire::Languages "none";
Acquire::http::Proxy "http://127.0.0.1:{gateway.port}";
Acquire::http::Proxy::127.0.0.1 "DIRECT";
"""
    write(workdir / "apt.conf", config.encode())
    return {**without_proxies(), "APT_CONFIG": str(workdir / "apt.conf")}


def test_apt_updates_and_downloads_from_flat_and_dists_repositories_through_a_file_rule(
    gateway, backend, tmp_path, redis_db
):
    arch = succeed(["dpkg", "--print-architecture"], {}, tmp_path).stdout.strip()
    hello = build_deb(tmp_path / "build", "acme-hello", "1.0")
    tools = build_deb(tmp_path / "build", "acme-tools", "2.0")
    build_flat_repository(backend.root / "repo/flat", hello)
    build_dists_repository(backend.root / "repo/debian", tools, arch)
    sources = (
        "deb [trusted=yes] http://get.acme.test/apt/flat/ ./\n"
        "deb [trusted=yes] http://get.acme.test/apt/debian stable main\n"
    )
    env = apt_sandbox(tmp_path / "apt", gateway, sources)
    downloads = tmp_path / "downloads"
    downloads.mkdir()

    update = succeed(["apt-get", "-q", "update"], env, downloads)
    succeed(["apt-get", "-q", "download", "acme-hello", "acme-tools"], env, downloads)

    assert "Err:" not in update.stdout, update.stdout
    assert (downloads / hello.name).read_bytes() == hello.read_bytes()
    assert (downloads / tools.name).read_bytes() == tools.read_bytes()
    events = recorded_events(redis_db)
    assert {e["package"] for e in events} == {"acme-apt"}
    assert {e["status"] for e in events} == {307}
    assert all(e["user_agent"].startswith("Debian APT-HTTP/") for e in events), events
    assert {
        "flat/./Release",
        "flat/./acme-hello_1.0_all.deb",
        "debian/dists/stable/Release",
        "debian/pool/main/a/acme-tools_2.0_all.deb",
    } <= {e["capture"]["variables"]["path"] for e in events}, events
    # apt fetches a repository's other index files from where its Release was
    # redirected to: the Packages files reach the backend without the gateway.
    assert "/repo/flat/./Packages.gz" in backend.paths(), backend.requests
