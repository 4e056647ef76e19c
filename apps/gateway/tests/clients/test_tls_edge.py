"""Real clients over HTTPS through the TLS edge: Caddy (deploy/Caddyfile) in front
of the production server, certificates obtained on demand from a real ACME
server (pebble), trusted by the clients the way a private CA is (no flag that
turns checking off).

curl reaches the edge on its own port with `--resolve`; pip, npm and skopeo
ask for https://get.acme.test/ through a CONNECT tunnel to the edge
(scarf.testing.Tunnel), which connects from 127.0.0.2: the address the edge
sees them at, and the one the gateway must record, whatever X-Forwarded-For
they send.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from apps.analytics.events import read_stream_events
from apps.gateway.tests.clients.test_docker_clients import docker_manifest, skopeo
from apps.gateway.tests.clients.test_file_clients import RELEASE_BYTES, Backend, write
from apps.gateway.tests.clients.test_file_clients import manifest as file_manifest
from apps.gateway.tests.clients.test_npm import (
    Package,
    StaticRegistry,
    npm_environment,
    npm_manifest,
    npm_pack,
)
from apps.gateway.tests.clients.test_pip import (
    PROJECT,
    WHEEL,
    PackageIndex,
    build_wheel,
    file_rules,
    index_rules,
    sha256_of,
)
from apps.gateway.tests.conftest import DOMAIN, Edge
from apps.gateway.tests.test_tls_ask import eventually
from apps.packages.manifests import import_manifest
from apps.packages.models import Domain
from apps.packages.services import SYSTEM, claim_domain, delete_domain, verify_domain
from scarf.testing import Tunnel

pytestmark = pytest.mark.slow

CLIENT = Tunnel.source
FORGED = "203.0.113.66"
# Names no other test serves: several suites may share this machine's Redis.
NEW_NAME = "newly-verified.acme.test"
GONE = "deleted-before-use.acme.test"


def run(command: list[str], env: dict | None = None, cwd: Path | None = None):
    result = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


def clean_environment(**extra: str) -> dict[str, str]:
    """This machine's environment without proxies or CA bundles of its own
    (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and PIP_CERT would override --cert)."""
    dropped = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")
    env = {
        key: value
        for key, value in os.environ.items()
        if "proxy" not in key.lower() and key not in dropped and not key.startswith("PIP_")
    }
    return {**env, **extra}


def through_tunnel(edge: Edge) -> dict[str, str]:
    bypass = "127.0.0.1,localhost"
    return clean_environment(
        https_proxy=edge.tunnel.url, HTTPS_PROXY=edge.tunnel.url, no_proxy=bypass, NO_PROXY=bypass
    )


def ask_url(edge: Edge, name: str) -> str:
    return f"{edge.dashboard.url}/internal/tls/allowed?domain={name}"


def events(redis_db) -> list[dict]:
    return read_stream_events(redis_db)


def handshake(edge: Edge, name: str | None) -> ssl.SSLSocket:
    """A TLS handshake with the edge for `name` (None: no SNI, as by IP address)."""
    context = ssl.create_default_context(cafile=str(edge.root))
    if name is None:
        context.check_hostname = False
    raw = socket.create_connection(("127.0.0.1", edge.caddy.https_port), timeout=10)
    try:
        return context.wrap_socket(raw, server_hostname=name)
    except BaseException:
        raw.close()
        raise


# --- curl and pip through a file rule and python rules ---------------------------------------


@pytest.fixture
def files(tmp_path):
    root = tmp_path / "files"
    write(root / "releases/v1.2.3/acme-cli.tar.gz", RELEASE_BYTES)
    backend = Backend(root)
    yield backend
    backend.stop()


def test_curl_downloads_through_a_file_rule_over_https_recorded_at_its_own_address(
    edge, acme, files, tmp_path, redis_db
):
    import_manifest(acme, file_manifest(files.url), verify_domains=True)
    out = tmp_path / "release.tgz"

    run(
        ["curl", "-q", "-sSfL", "--cacert", str(edge.root), *edge.resolve()]
        + ["--interface", CLIENT, "-H", f"X-Forwarded-For: {FORGED}", "-o", str(out)]
        + [edge.url("/cli/1.2.3/acme-cli.tar.gz")],
        env=clean_environment(),
    )

    assert out.read_bytes() == RELEASE_BYTES
    (event,) = events(redis_db)
    assert (event["domain"], event["status"], event["package"]) == (DOMAIN, 307, "acme-cli")
    assert event["client_ip"] == CLIENT
    assert event["user_agent"].startswith("curl/")


def test_plain_http_keeps_working_on_a_tenant_domain(edge, acme, files, tmp_path, redis_db):
    import_manifest(acme, file_manifest(files.url), verify_domains=True)
    out = tmp_path / "release.tgz"
    url = f"http://{DOMAIN}:{edge.caddy.http_port}/cli/1.2.3/acme-cli.tar.gz"

    run(
        ["curl", "-q", "-sSfL", "--resolve", f"{DOMAIN}:{edge.caddy.http_port}:127.0.0.1"]
        + ["-o", str(out), url],
        env=clean_environment(),
    )

    assert out.read_bytes() == RELEASE_BYTES
    assert [e["status"] for e in events(redis_db)] == [307]


@pytest.fixture
def index(tmp_path):
    directory = tmp_path / "packages"
    directory.mkdir()
    wheel = build_wheel(directory)
    package_index = PackageIndex.start(directory, tmp_path / "pypiserver.log")
    yield package_index, wheel
    package_index.stop()


@pytest.mark.parametrize("rule_type", ["python-v1", "python-index-v1"])
def test_pip_downloads_through_python_rules_trusting_the_ca_with_cert(
    edge, acme, index, tmp_path, redis_db, rule_type
):
    package_index, wheel = index
    rules = (
        file_rules(package_index, wheel, sha256_of(wheel))
        if rule_type == "python-v1"
        else index_rules(package_index)
    )
    import_manifest(acme, rules, verify_domains=True)

    run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(tmp_path / "got")]
        + ["--index-url", f"https://{DOMAIN}/simple/", "--cert", str(edge.root)]
        + ["--no-cache-dir", "--disable-pip-version-check", "--isolated", PROJECT],
        env={**through_tunnel(edge), "PIP_CONFIG_FILE": os.devnull},
    )

    assert sha256_of(tmp_path / "got" / WHEEL) == sha256_of(wheel)
    recorded = events(redis_db)
    (download,) = [e for e in recorded if e["capture"].get("file_name")]
    assert (download["rule_type"], download["status"]) == (rule_type, 307)
    assert {e["client_ip"] for e in recorded} == {CLIENT}
    assert set(edge.tunnel.requested) == {f"{DOMAIN}:443"}


# --- npm ----------------------------------------------------------------------------------


def test_npm_installs_through_the_edge_with_cafile(edge, acme, tmp_path, redis_db):
    greet_js = "module.exports = (who) => `Hello, ${who}!`;\n"
    work = tmp_path / "npm"
    package = Package(
        "acme-greet",
        npm_pack(work / "greet", "acme-greet", greet_js, work / "dist"),
        "/acme-greet/-/acme-greet-1.0.0.tgz",
        greet_js,
    )
    registry = StaticRegistry([package])
    try:
        import_manifest(acme, npm_manifest(registry.url), verify_domains=True)
        project, cache, userconfig = tmp_path / "project", tmp_path / "cache", tmp_path / "npmrc"
        project.mkdir()
        userconfig.write_text("")
        env = npm_environment(cache)
        run(
            ["npm", "install", "--registry", f"https://{DOMAIN}/"]
            + ["--https-proxy", edge.tunnel.url, "--noproxy", "127.0.0.1"]
            + ["--cafile", str(edge.root), "--strict-ssl", "true"]
            + ["--cache", str(cache), "--userconfig", str(userconfig), "--fetch-retries", "0"]
            + ["--no-audit", "--no-fund", "acme-greet"],
            env=env,
            cwd=project,
        )
    finally:
        registry.stop()

    assert (project / "node_modules/acme-greet/index.js").read_text() == greet_js
    recorded = {e["path"]: e for e in events(redis_db)}
    assert recorded["/acme-greet/-/acme-greet-1.0.0.tgz"]["status"] == 307
    assert {e["client_ip"] for e in recorded.values()} == {CLIENT}
    assert all(e["user_agent"].startswith("npm/") for e in recorded.values())


# --- skopeo, through the proxied docker path ---------------------------------------------------


def test_skopeo_copies_an_image_through_the_edge_from_a_registry(
    edge, acme, registry, image, tmp_path, redis_db
):
    import_manifest(acme, docker_manifest(registry.url), verify_domains=True)
    certs = tmp_path / "certs"
    certs.mkdir()
    (certs / "ca.crt").write_bytes(edge.root.read_bytes())
    copied = tmp_path / "copied"

    skopeo(
        tmp_path,
        "copy",
        "--src-cert-dir",
        str(certs),
        f"docker://{DOMAIN}/acme/app:1.0",
        f"dir:{copied}",
        env={**through_tunnel(edge), "HOME": str(tmp_path)},
    )

    files = {path.name: path.read_bytes() for path in copied.iterdir()}
    assert hashlib.sha256(files["manifest.json"]).hexdigest() == image.manifest_digest[7:]
    for digest, data in image.blobs.items():
        if digest != image.manifest_digest:
            assert files[digest.removeprefix("sha256:")] == data
    pulls = [e for e in events(redis_db) if "/manifests/" in e["path"]]
    assert [(e["status"], e["client_ip"]) for e in pulls] == [(200, CLIENT)]
    assert pulls[0]["user_agent"].startswith("skopeo/")


# --- who gets a certificate -----------------------------------------------------------------


def test_a_name_we_do_not_serve_gets_no_certificate_and_no_order(edge, acme, pebble):
    claim_domain(acme, SYSTEM, "claimed.acme.test")  # not verified

    for name in ("claimed.acme.test", "random-1.example.test", None):
        with pytest.raises(ssl.SSLError):
            handshake(edge, name).close()

    for name in ("claimed.acme.test", "random-1.example.test", "127.0.0.1"):
        assert not pebble.ordered_for(name)
        assert edge.caddy.certificate_files(name) == []


def test_verifying_a_domain_makes_its_first_handshake_succeed(
    edge, acme, pebble, dns_server, redis_db
):
    domain = claim_domain(acme, SYSTEM, NEW_NAME)
    with pytest.raises(ssl.SSLError):
        handshake(edge, NEW_NAME).close()

    dns_server.txt[domain.challenge_name] = [domain.verification_token]
    assert verify_domain(domain)
    assert eventually(ask_url(edge, NEW_NAME), 200)  # every worker knows

    with handshake(edge, NEW_NAME) as tls:
        certificate = tls.getpeercert()
    assert ("DNS", NEW_NAME) in certificate["subjectAltName"]
    assert pebble.ordered_for(NEW_NAME)
    assert len(edge.caddy.certificate_files(NEW_NAME)) == 1


def test_the_default_domain_gets_a_certificate_on_its_first_handshake(edge, acme):
    with handshake(edge, "acme.gateway.localhost") as tls:
        assert ("DNS", "acme.gateway.localhost") in tls.getpeercert()["subjectAltName"]


def test_deleting_a_domain_stops_new_certificates_for_it(edge, acme, pebble):
    rules = file_manifest("http://127.0.0.1:9")["rules"]
    import_manifest(acme, {"rules": [{**rules[0], "domain": GONE}]}, verify_domains=True)
    assert eventually(ask_url(edge, GONE), 200)

    delete_domain(Domain.objects.get(hostname=GONE), SYSTEM)

    assert eventually(ask_url(edge, GONE), 404)
    with pytest.raises(ssl.SSLError):
        handshake(edge, GONE).close()
    assert not pebble.ordered_for(GONE)
