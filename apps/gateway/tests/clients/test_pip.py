"""pip downloads and installs through python rules on a real gateway server.

The package is a wheel built here, without network, and served by a real
PyPI-compatible index (pypiserver) on 127.0.0.1. pip reaches get.acme.test
with the gateway as its HTTP proxy (`through_gateway`), reads our project
page (PEP 691 JSON, as pip asks for it first), follows the 307 to the index's
file URL, and checks the file against the hash our page gave it.
Two ways to serve it: one python-v1 rule per file, and one python-index-v1
rule that lists whatever the index lists (GATEWAY-DECISIONS §4, §9).
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from apps.analytics.events import read_stream_events
from apps.gateway.tests.conftest import LOOPBACK_DOMAIN, through_gateway
from apps.packages.manifests import import_manifest
from scarf.ports import free_port
from scarf.testing import stop_process, wait_until_serving

pytestmark = pytest.mark.slow

PROJECT = "acme-hello"
VERSION = "1.0"
WHEEL = f"acme_hello-{VERSION}-py3-none-any.whl"
MODULE = b'GREETING = "hello from acme"\n'
GATEWAY_INDEX = "http://get.acme.test/simple/"


# The package and the index serving it


def record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_wheel(directory: Path) -> Path:
    """A minimal valid pure-Python wheel: one module and its dist-info."""
    dist_info = f"acme_hello-{VERSION}.dist-info"
    files = {
        "acme_hello.py": MODULE,
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {PROJECT}\nVersion: {VERSION}\n"
            "Summary: A package built by the gateway's pip tests\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: scarf-tests\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = "".join(f"{name},{record_hash(data)},{len(data)}\n" for name, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    path = directory / WHEEL
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@dataclass
class PackageIndex:
    """pypiserver on 127.0.0.1, serving one directory, never falling back to PyPI."""

    process: subprocess.Popen
    url: str

    @classmethod
    def start(cls, directory: Path, log: Path) -> PackageIndex:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, "-m", "pypiserver", "run", "-p", str(port), "-i", "127.0.0.1"]
            + ["--disable-fallback", str(directory)],
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url + "/health", process)
        return cls(process, url)

    def file_url(self, file_name: str) -> str:
        return f"{self.url}/packages/{file_name}"

    def stop(self) -> None:
        stop_process(self.process)


@pytest.fixture
def wheel(tmp_path) -> Path:
    directory = tmp_path / "packages"
    directory.mkdir()
    return build_wheel(directory)


@pytest.fixture
def index(tmp_path, wheel):
    package_index = PackageIndex.start(wheel.parent, tmp_path / "pypiserver.log")
    yield package_index
    package_index.stop()


def file_rules(
    index: PackageIndex, wheel: Path, sha256: str, domain: str = "get.acme.test"
) -> dict:
    """One python-v1 rule for the wheel, as the reference gateway would serve it."""
    return {
        "rules": [
            {
                "type": "python-v1",
                "domain": domain,
                "package-id": PROJECT,
                "package-name": PROJECT,
                "file-name": wheel.name,
                "version": VERSION,
                "backend-url": index.file_url(wheel.name),
                "hash-value": {"type": "sha256", "hash": sha256},
            }
        ]
    }


def index_rules(index: PackageIndex, domain: str = "get.acme.test") -> dict:
    return {
        "rules": [
            {
                "type": "python-index-v1",
                "domain": domain,
                "package-id": PROJECT,
                "package-name": PROJECT,
                "backend-simple-index-url": f"{index.url}/simple/",
            }
        ]
    }


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Running pip


def pip_environment(server) -> dict[str, str]:
    """`through_gateway`, with the proxy scoped to our domain alone.

    pip's HTTP library keeps the proxy of the first request when it follows
    a redirect, even to a `no_proxy` host, so our 307 to 127.0.0.1 would come
    back to the gateway. A `<scheme>://<host>_proxy` variable (read by
    urllib's getproxies) names a proxy for one host only; redirects to other
    hosts then go direct, as they do for curl. No PIP_* variables and no config
    file: nothing on the machine adds indexes, find-links or constraints.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    env.update(through_gateway(server), PIP_CONFIG_FILE=os.devnull)
    proxy = env.pop("http_proxy")
    for name in ("HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        del env[name]
    env["http://get.acme.test_proxy"] = proxy
    return env


def pip(server, *args: str) -> subprocess.CompletedProcess:
    """Real pip against our index on get.acme.test."""
    return subprocess.run(
        [sys.executable, "-m", "pip", *args, "--index-url", GATEWAY_INDEX]
        + ["--trusted-host", "get.acme.test", "--no-cache-dir", "--disable-pip-version-check"],
        env=pip_environment(server),
        capture_output=True,
        text=True,
        timeout=120,
    )


def pip_download(server, destination: Path) -> subprocess.CompletedProcess:
    return pip(server, "download", "--no-deps", "-d", str(destination), PROJECT)


def pip_install(server, target: Path) -> subprocess.CompletedProcess:
    return pip(server, "install", "--no-deps", "--target", str(target), PROJECT)


def imported_greeting(target: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "import acme_hello; print(acme_hello.GREETING)"],
        env={**os.environ, "PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def recorded_events(redis_db) -> list[dict]:
    return read_stream_events(redis_db)


def downloads(events: list[dict]) -> list[dict]:
    return [event for event in events if event["capture"].get("file_name")]


# The tests


@pytest.fixture(params=["python-v1", "python-index-v1"])
def served(request, gateway_server, acme, index, wheel):
    """The gateway serving the wheel through rules of one type or the other."""
    if request.param == "python-v1":
        manifest = file_rules(index, wheel, sha256_of(wheel))
    else:
        manifest = index_rules(index)
    import_manifest(acme, manifest, verify_domains=True)
    return request.param, gateway_server.start()


def test_pip_downloads_the_exact_file_through_the_gateway(served, wheel, tmp_path, redis_db):
    rule_type, server = served

    result = pip_download(server, tmp_path / "downloaded")

    assert result.returncode == 0, result.stderr
    assert sha256_of(tmp_path / "downloaded" / WHEEL) == sha256_of(wheel)
    (download,) = downloads(recorded_events(redis_db))
    assert download["rule_type"] == rule_type
    assert download["package"] == PROJECT
    assert download["capture"]["version"] == VERSION
    assert download["capture"]["file_name"] == WHEEL
    assert download["status"] == 307
    assert download["user_agent"].startswith("pip/")


def test_pip_installs_a_module_that_imports(served, tmp_path, redis_db):
    _rule_type, server = served

    result = pip_install(server, tmp_path / "site")

    assert result.returncode == 0, result.stderr
    assert imported_greeting(tmp_path / "site") == "hello from acme"
    pages = [event for event in recorded_events(redis_db) if event["path"].endswith("/")]
    assert pages
    assert all(event["status"] == 200 for event in pages)


def test_pip_refuses_a_file_whose_hash_does_not_match_the_rule(
    gateway_server, acme, index, wheel, tmp_path
):
    import_manifest(acme, file_rules(index, wheel, "0" * 64), verify_domains=True)
    server = gateway_server.start()

    result = pip_download(server, tmp_path / "downloaded")

    assert result.returncode != 0
    assert "HASHES" in result.stderr
    assert not (tmp_path / "downloaded" / WHEEL).exists()


def test_an_index_page_is_served_stale_while_the_index_is_down(
    gateway_server, acme, index, tmp_path, redis_db
):
    import_manifest(acme, index_rules(index), verify_domains=True)
    gateway_server.env["UPSTREAM_CACHE_TTL"] = "0"
    server = gateway_server.start()
    first = pip_download(server, tmp_path / "first")
    assert first.returncode == 0, first.stderr

    index.stop()
    result = pip(server, "index", "versions", PROJECT)

    assert result.returncode == 0, result.stderr
    assert f"{PROJECT} ({VERSION})" in result.stdout
    last = recorded_events(redis_db)[-1]
    assert (last["path"], last["status"]) == (f"/simple/{PROJECT}/", 200)
    assert last["user_agent"].startswith("pip/")


@pytest.mark.parametrize("rule_type", ["python-v1", "python-index-v1"])
def test_pip_downloads_from_the_gateway_on_a_non_default_port(
    direct_server, index, wheel, rule_type, tmp_path
):
    if rule_type == "python-v1":
        manifest = file_rules(index, wheel, sha256_of(wheel), LOOPBACK_DOMAIN)
    else:
        manifest = index_rules(index, LOOPBACK_DOMAIN)
    server = direct_server(manifest["rules"])
    env = pip_environment(server)

    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "got")]
        + ["--index-url", f"http://{LOOPBACK_DOMAIN}:{server.port}/simple/", "--no-cache-dir"]
        + ["--trusted-host", f"{LOOPBACK_DOMAIN}:{server.port}"]  # plain HTTP, not localhost
        + ["--disable-pip-version-check", PROJECT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr
    assert sha256_of(tmp_path / "got" / WHEEL) == sha256_of(wheel)
