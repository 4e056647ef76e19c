"""Caddy (deploy/Caddyfile) and pebble run as processes of our own, for the tests
(scarf/testing.py) and the edge benchmark (bench/edge.py): free ports, HOME and
XDG directories of their own, and stopped for sure."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from scarf.ports import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
CADDYFILE = BASE_DIR / "deploy" / "Caddyfile"


class Process:
    """A program of the tests' own, its output in a file, stopped for sure."""

    def __init__(self, name: str, tmp_path: Path):
        self.name = name
        self.log_path = tmp_path / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def run(self, command: list[str], env: dict[str, str]) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )

    def stop(self) -> None:
        stop_process(self.process)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    """Ask a running process to stop and wait for it; kill it if it will not."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout)


def private_home(tmp_path: Path) -> dict[str, str]:
    """HOME and XDG directories in `tmp_path`, so nothing lands in a real home."""
    home = tmp_path / "home"
    dirs = {"HOME": home, "XDG_DATA_HOME": home / "data", "XDG_CONFIG_HOME": home / "config"}
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    return {name: str(path) for name, path in dirs.items()}


def https_get(url: str, cafile: Path | str, timeout: float = 5) -> bytes:
    context = ssl.create_default_context(cafile=str(cafile))
    with urllib.request.urlopen(url, timeout=timeout, context=context) as response:
        return response.read()


class Pebble(Process):
    """Let's Encrypt's ACME test server on free loopback ports, validating nothing
    (PEBBLE_VA_ALWAYS_VALID: every challenge passes) and issuing from a root it
    makes at start; `root` is that root, for clients to trust."""

    def __init__(self, tmp_path: Path):
        super().__init__("pebble", tmp_path)
        self.dir = tmp_path / "pebble"
        self.dir.mkdir()
        self.port, self.management_port = free_port(), free_port()
        self.directory = f"https://127.0.0.1:{self.port}/dir"
        self.listener_cert = self.dir / "listener.pem"  # pebble's own HTTPS certificate
        self.root = self.dir / "root.pem"  # what it signs certificates with (via an intermediate)

    def start(self) -> Pebble:
        key = self.dir / "listener.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
            + ["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key)]
            + ["-out", str(self.listener_cert)]
            + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
            check=True,
            capture_output=True,
        )
        config = self.dir / "pebble.json"
        config.write_text(
            json.dumps(
                {
                    "pebble": {
                        "listenAddress": f"127.0.0.1:{self.port}",
                        "managementListenAddress": f"127.0.0.1:{self.management_port}",
                        "certificate": str(self.listener_cert),
                        "privateKey": str(key),
                        "httpPort": free_port(),
                        "tlsPort": free_port(),
                        "ocspResponderURL": "",
                        "externalAccountBindingRequired": False,
                    }
                }
            )
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **private_home(self.dir),
            "PEBBLE_VA_ALWAYS_VALID": "1",
            "PEBBLE_VA_NOSLEEP": "1",
            "PEBBLE_WFE_NONCEREJECT": "0",
        }
        self.run(["pebble", "-config", str(config)], env)
        wait_for(lambda: https_get(self.directory, self.listener_cert), self.process, "pebble")
        root_url = f"https://127.0.0.1:{self.management_port}/roots/0"
        self.root.write_bytes(https_get(root_url, self.listener_cert))
        return self

    def ordered_for(self, name: str) -> bool:
        """Whether any order so far names `name` (pebble logs each identifier it validates)."""
        return f'Value:"{name}"' in self.output()


class Caddy(Process):
    """deploy/Caddyfile, as production runs it, on free ports and with its
    ACME CA, storage, admin API and home directories of the test's own."""

    def __init__(
        self,
        tmp_path: Path,
        pebble: Pebble,
        gateway: str,
        dashboard: str,
        dashboard_hosts: list[str],
        ask_url: str,
    ):
        super().__init__("caddy", tmp_path)
        self.http_port, self.https_port, self.admin_port = free_port(), free_port(), free_port()
        self.storage = tmp_path / "caddy-storage"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            **private_home(tmp_path / "caddy"),
            "ACME_EMAIL": "tls@example.test",
            "ACME_CA": pebble.directory,
            "ACME_CA_ROOT": str(pebble.listener_cert),
            "CADDY_STORAGE": str(self.storage),
            "CADDY_ADMIN": f"127.0.0.1:{self.admin_port}",
            "HTTP_PORT": str(self.http_port),
            "HTTPS_PORT": str(self.https_port),
            "TLS_ASK_URL": ask_url,
            "DASHBOARD_HOSTS": " ".join(dashboard_hosts),
            "DASHBOARD_UPSTREAM": dashboard,
            "GATEWAY_UPSTREAM": gateway,
        }

    def start(self) -> Caddy:
        self.run(["caddy", "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"], self.env)
        admin = f"http://127.0.0.1:{self.admin_port}/config/"
        wait_for(lambda: urllib.request.urlopen(admin, timeout=1), self.process, "caddy")
        return self

    def certificate_files(self, name: str) -> list[Path]:
        return sorted(self.storage.glob(f"certificates/*/{name}/{name}.crt"))


def wait_for(probe, process: subprocess.Popen, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            probe()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
