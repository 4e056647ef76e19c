"""`make run-tls` (scripts/run-tls.sh): the embedded product behind Caddy with its
own local CA, answering the dashboard over HTTPS and redirecting plain HTTP."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scarf.ports import free_port
from scarf.testing import private_home

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_run_tls_serves_the_dashboard_over_https_from_a_local_ca(tmp_path):
    ports = {name: str(free_port()) for name in ("PORT", "HTTP_PORT", "HTTPS_PORT")}
    env = {
        **os.environ,
        **private_home(tmp_path),
        **ports,
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "VENV": str(Path(sys.executable).parent.parent),
    }
    root = tmp_path / "var/tls/storage/pki/authorities/local/root.crt"
    with open(tmp_path / "run-tls.log", "wb") as log:
        script = subprocess.Popen(
            ["bash", "scripts/run-tls.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        page = eventually(
            lambda: (
                subprocess.run(
                    ["curl", "-q", "-sS", "-D", "-", "-o", os.devnull, "--cacert", str(root)]
                    + ["--resolve", f"dashboard.localhost:{ports['HTTPS_PORT']}:127.0.0.1"]
                    + [f"https://dashboard.localhost:{ports['HTTPS_PORT']}/accounts/login/"],
                    capture_output=True,
                    text=True,
                    timeout=10,
                    check=True,
                ).stdout
            ),
            script,
        )
        redirect = subprocess.run(
            ["curl", "-q", "-sS", "-o", os.devnull, "-w", "%{http_code} %{redirect_url}"]
            + ["--resolve", f"dashboard.localhost:{ports['HTTP_PORT']}:127.0.0.1"]
            + [f"http://dashboard.localhost:{ports['HTTP_PORT']}/"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    finally:
        os.killpg(script.pid, signal.SIGTERM)
        script.wait(timeout=30)

    assert page.split("\n", 1)[0].strip() in ("HTTP/2 200", "HTTP/1.1 200 OK")
    assert "strict-transport-security" in page.lower()
    assert redirect == f"308 https://dashboard.localhost:{ports['HTTPS_PORT']}/"


def eventually(probe, process, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "run-tls.sh exited"
        try:
            return probe()
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
