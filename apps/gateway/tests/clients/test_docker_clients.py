"""Real registry clients against the real gateway and a real registry (Debian's
docker-registry on loopback): skopeo through the proxy, a Docker-like client
through the redirect, and what the gateway records for them."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import json
import os
import socket
import ssl
import subprocess
import tarfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from apps.analytics.events import read_stream_events
from apps.gateway.tests.conftest import through_gateway
from apps.packages.manifests import import_manifest
from scarf.ports import free_port
from scarf.testing import ProductionServer, stop_process, wait_until_serving

pytestmark = pytest.mark.slow

DOMAIN = "get.acme.test"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MANIFEST_TYPES = (
    OCI_MANIFEST,
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)


@dataclass(frozen=True)
class OciImage:
    """An image as an OCI layout directory, and the blobs in it by digest."""

    layout: Path
    manifest_digest: str
    blobs: dict[str, bytes]


def build_oci_image(layout: Path, tag: str) -> OciImage:
    """A one-layer image (one small file), built offline and reproducibly."""
    blobs: dict[str, bytes] = {}

    def add_blob(media_type: str, data: bytes) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    layer_tar = io.BytesIO()
    with tarfile.open(fileobj=layer_tar, mode="w") as tar:
        content = b"hello from acme\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    diff_id = "sha256:" + hashlib.sha256(layer_tar.getvalue()).hexdigest()
    layer = add_blob(
        "application/vnd.oci.image.layer.v1.tar+gzip", gzip.compress(layer_tar.getvalue(), mtime=0)
    )
    config = add_blob(
        "application/vnd.oci.image.config.v1+json",
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "config": {},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            }
        ).encode(),
    )
    manifest = add_blob(
        OCI_MANIFEST,
        json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": [layer]}
        ).encode(),
    )

    (layout / "blobs" / "sha256").mkdir(parents=True)
    for digest, data in blobs.items():
        (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).write_bytes(data)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    index = {
        "schemaVersion": 2,
        "manifests": [{**manifest, "annotations": {"org.opencontainers.image.ref.name": tag}}],
    }
    (layout / "index.json").write_text(json.dumps(index))
    return OciImage(layout, manifest["digest"], blobs)


class Registry:
    """Debian's distribution registry on a free loopback port, plain HTTP, no auth."""

    def __init__(self, tmp_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp_path / "registry.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: error}\n"
            f"storage: {{filesystem: {{rootdirectory: {tmp_path / 'registry'}}}}}\n"
            f"http: {{addr: '127.0.0.1:{self.port}', secret: test}}\n"
        )
        self.process = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.url + "/v2/", self.process)

    def stop(self) -> None:
        stop_process(self.process)

    def manifest_digest(self, image: str, tag: str) -> str:
        request = urllib.request.Request(
            f"{self.url}/v2/{image}/manifests/{tag}", headers={"Accept": OCI_MANIFEST}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.headers["Docker-Content-Digest"]


def skopeo(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """skopeo with a policy of its own, so the host's containers config does not matter."""
    policy = tmp_path / "policy.json"
    policy.write_text('{"default": [{"type": "insecureAcceptAnything"}]}')
    result = subprocess.run(
        ["skopeo", "--policy", str(policy), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


@pytest.fixture
def registry(tmp_path):
    registry = Registry(tmp_path)
    yield registry
    registry.stop()


@pytest.fixture
def image(tmp_path, registry):
    """The image, pushed to the registry as acme/app:1.0 and acme/tool:2.0."""
    image = build_oci_image(tmp_path / "layout", "1.0")
    for name in ("acme/app:1.0", "acme/tool:2.0"):
        skopeo(
            tmp_path,
            "copy",
            "--dest-tls-verify=false",
            f"oci:{image.layout}:1.0",
            f"docker://127.0.0.1:{registry.port}/{name}",
        )
    return image


def docker_manifest(registry_url: str) -> dict:
    """acme/app by name (docker-v1), every acme/* image by pattern (docker-v2)."""
    return {
        "rules": [
            {
                "type": "docker-v1",
                "domain": DOMAIN,
                "package-id": "app-image",
                "repository-name": "acme/app",
                "registry": registry_url,
            },
            {
                "type": "docker-v2",
                "domain": DOMAIN,
                "rule-id": "acme-images",
                "pattern": "acme/*",
                "registry": registry_url,
            },
        ]
    }


@pytest.fixture
def server(start_either_server, acme, registry, image):
    """The production server (`python -m scarf.serving`) and gunicorn (scarf/gunicorn.conf.py)."""
    import_manifest(acme, docker_manifest(registry.url), verify_domains=True)
    return start_either_server()


def recorded_events(redis_db) -> list[dict]:
    return read_stream_events(redis_db)


def send(server, target: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    connection.putrequest("GET", target, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", DOMAIN)
    for name, value in headers.items():
        connection.putheader(name, value)
    for media_type in MANIFEST_TYPES:
        connection.putheader("Accept", media_type)
    connection.endheaders()
    response = connection.getresponse()
    result = response.status, response.headers, response.read()  # names: any case
    connection.close()
    return result


def test_skopeo_falls_back_to_plain_http_and_inspects_an_image_through_us(
    tmp_path, server, registry, redis_db
):
    result = skopeo(
        tmp_path,
        "inspect",
        "--tls-verify=false",
        f"docker://{DOMAIN}/acme/app:1.0",
        env=through_gateway(server),
    )

    assert json.loads(result.stdout)["Digest"] == registry.manifest_digest("acme/app", "1.0")
    pulls = [e for e in recorded_events(redis_db) if e["path"] == "/v2/acme/app/manifests/1.0"]
    assert [(e["method"], e["status"]) for e in pulls] == [("GET", 200)]
    if not isinstance(server, ProductionServer):  # gunicorn's access log shows the fallback
        log = server.output()
        assert f'"CONNECT {DOMAIN}:443 HTTP/1.1" 400' in log
        assert f'"GET http://{DOMAIN}/v2/acme/app/manifests/1.0 HTTP/1.1" 200' in log


def test_skopeo_copies_an_image_through_the_gateway_byte_for_byte(tmp_path, server, image):
    copied = tmp_path / "copied"
    skopeo(
        tmp_path,
        "copy",
        "--src-tls-verify=false",
        f"docker://{DOMAIN}/acme/app:1.0",
        f"dir:{copied}",
        env=through_gateway(server),
    )

    files = {path.name: path.read_bytes() for path in copied.iterdir()}
    assert hashlib.sha256(files["manifest.json"]).hexdigest() == image.manifest_digest[7:]
    for digest, data in image.blobs.items():
        if digest != image.manifest_digest:
            assert files[digest.removeprefix("sha256:")] == data


def test_skopeo_pulls_are_recorded_with_image_tag_and_upstream_status(
    tmp_path, server, registry, redis_db
):
    for name in ("acme/app:1.0", "acme/tool:2.0"):
        skopeo(
            tmp_path,
            "inspect",
            "--tls-verify=false",
            f"docker://{DOMAIN}/{name}",
            env=through_gateway(server),
        )

    events = recorded_events(redis_db)
    pulls = [e for e in events if e["method"] == "GET" and "/manifests/" in e["path"]]
    assert [(e["package"], e["capture"]["auto_create"]) for e in pulls] == [
        ("app-image", None),
        ("", "acme-images"),
    ]
    app, tool = pulls
    assert (app["capture"]["image"], app["capture"]["reference"]) == (["acme", "app"], "1.0")
    assert (tool["capture"]["image"], tool["capture"]["reference"]) == (["acme", "tool"], "2.0")
    assert app["target"] == f"{registry.url}/v2/acme/app/manifests/1.0"
    for event in pulls:
        assert event["capture"]["pull"] is True
        assert event["status"] == 200
        assert event["user_agent"].startswith("skopeo/")
    blobs = [e for e in events if "/blobs/" in e["path"]]
    assert len(blobs) == 2
    assert all(e["capture"]["pull"] is False and e["status"] == 200 for e in blobs)


def test_a_docker_client_is_redirected_to_the_registry_for_the_same_manifest(server, registry):
    status, headers, body = send(
        server, "/v2/acme/app/manifests/1.0", {"User-Agent": "docker/27.0"}
    )
    assert (status, body) == (307, b"")
    assert headers["Location"] == f"{registry.url}/v2/acme/app/manifests/1.0"

    followed = urllib.request.Request(
        headers["Location"], headers={"Accept": ", ".join(MANIFEST_TYPES)}
    )
    with urllib.request.urlopen(followed, timeout=5) as response:
        digest = response.headers["Docker-Content-Digest"]
        manifest = response.read()
    assert digest == registry.manifest_digest("acme/app", "1.0")
    assert "sha256:" + hashlib.sha256(manifest).hexdigest() == digest


def test_a_stopped_registry_gives_a_quick_oci_502(server, registry, redis_db):
    registry.stop()

    started = time.monotonic()
    status, headers, body = send(server, "/v2/acme/app/manifests/1.0", {"User-Agent": "skopeo"})

    assert time.monotonic() - started < 5
    assert status == 502
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body)["errors"][0]["code"] == "UNAVAILABLE"
    assert [e["status"] for e in recorded_events(redis_db)] == [502]


def test_a_tls_hello_on_the_plain_port_is_refused_and_serving_goes_on(server):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw,
        pytest.raises((ssl.SSLError, OSError)),
    ):
        context.wrap_socket(raw, server_hostname=DOMAIN)

    status, _, _ = send(server, "/v2/", {"User-Agent": "skopeo"})
    assert status == 200
