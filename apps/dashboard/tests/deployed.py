"""The dashboard as a maintainer reaches it in production, for the tests that
walk through it: the services installed from the runtime lock alone (gunicorn
for the dashboard and API, `python -m scarf.serving` for downloads, a Celery
worker and beat), behind Caddy with a certificate from an ACME server (pebble)
on non-default ports, and a headless Chromium that trusts that ACME server's
root the way a machine trusts a public CA (its certificate store, no
"insecure" switch), so the dashboard is a secure context as on the internet.
Mail goes to files (EMAIL_FILE_PATH) that the tests read."""

from __future__ import annotations

import email
import email.policy
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest

from apps.accounts.tests.two_factor import PASSWORD
from apps.dashboard.tests.browser import CHROMIUM, CHROMIUM_ARGS, browser_page
from apps.gateway.tests.conftest import DASHBOARD, DOMAIN, Edge
from scarf.testing import Celery, eventually


@dataclass
class Deployed:
    edge: Edge
    celery: Celery
    mail: Path

    def url(self, path: str = "") -> str:
        return self.edge.url(path, DASHBOARD)

    def emails(self) -> list[EmailMessage]:
        """Every message sent so far, oldest first (headers decoded)."""
        files = sorted(self.mail.glob("*.log"), key=lambda path: path.stat().st_mtime_ns)
        messages = []
        for path in files:
            # The file backend writes each message followed by a line of dashes.
            for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
                if raw.strip():
                    messages.append(email.message_from_bytes(raw, policy=email.policy.default))
        return messages

    def emails_about(self, subject: str, count: int = 1) -> list[EmailMessage]:
        """The first `count` messages whose subject has `subject`, once sent."""

        def sent() -> list[EmailMessage] | None:
            about = [message for message in self.emails() if subject in message["Subject"]]
            return about[:count] if len(about) >= count else None

        return eventually(sent, what=f"{count} e-mails about {subject!r}")


def deployed_env(tmp_path: Path) -> dict[str, str]:
    """The services' environment for these tests (mail to files, quick ingestion
    and outbox relay); a module that needs more overrides `edge_env` with it."""
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "ANALYTICS_INGEST_INTERVAL": "0.5",
        "OUTBOX_RELAY_AFTER": "1",
        "OUTBOX_RELAY_INTERVAL": "1",
    }


@pytest.fixture
def edge_env(tmp_path) -> dict[str, str]:
    return deployed_env(tmp_path)


@pytest.fixture
def deployed(edge, edge_env, server_python, tmp_path):
    celery = Celery(server_python, edge.dashboard.env, tmp_path).start()
    try:
        yield Deployed(edge, celery, Path(edge_env["EMAIL_FILE_PATH"]))
    finally:
        celery.stop()


def trust_store(root: Path, home: Path) -> None:
    """An NSS database in `home` (where Chromium on Linux reads the machine
    user's certificates) that trusts `root` to identify web sites."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    for command in (
        ["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"],
        ["certutil", "-A", "-d", f"sql:{nssdb}", "-n", "acme-ca", "-t", "C,,", "-i", str(root)],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=30)


@contextmanager
def edge_browser(edge: Edge, tmp_path: Path):
    """Headless Chromium for which the dashboard's and the tenant domain's
    names lead to the edge (as their DNS would) and pebble's root is trusted."""
    from playwright.sync_api import sync_playwright

    home = tmp_path / "browser-home"
    trust_store(edge.root, home)
    resolve = ",".join(f"MAP {host} 127.0.0.1" for host in (DASHBOARD, DOMAIN))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[*CHROMIUM_ARGS, f"--host-resolver-rules={resolve}"],
            env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
        )
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def dashboard_page(deployed: Deployed, tmp_path: Path, folder: Path, **options):
    """A page on the deployed dashboard in a trusting browser."""
    with (
        edge_browser(deployed.edge, tmp_path) as browser,
        browser_page(browser, deployed.url(), folder, **options) as page,
    ):
        yield page


def log_in(page, email: str = "ada@example.com") -> None:
    """Sign in with the password on the login form (a second factor, if any, asked after)."""
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
