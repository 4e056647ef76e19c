"""A maintainer's first day in headless Chromium: sign up, create a package,
send downloads through the gateway, see them on the chart (and filtered by
version), switch the backend, roll back, see what the rollback changed.
Once against the production shape (PostgreSQL, Redis, a real Celery
worker), once in embedded mode (SQLite, no services). Screenshots go to
var/test-artifacts/dashboard/<mode>/."""

import re

import pytest

from apps.analytics.tasks import ingest_events
from apps.gateway.tests.conftest import gateway_server  # noqa: F401

from .browser import ARTIFACTS, chromium_page, download, redirects_to, screenshot

pytestmark = pytest.mark.slow

HOST = "acme.gateway.localhost"
PATH = "/cli/1.0/cli.tgz"
GITHUB = "https://github.com/acme/cli/releases/download/v1.0/cli.tgz"
MIRROR = "https://mirror.example/cli/"


def sign_up(page):
    page.goto("/accounts/signup/")
    page.get_by_label("E-mail address").fill("ada@example.com")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_label("Organisation name").fill("Acme")
    page.get_by_role("button", name="Sign up").click()
    page.get_by_role("cell", name=re.compile("^" + re.escape(HOST))).wait_for()


def create_file_package(page):
    page.get_by_role("link", name="New package").click()
    page.get_by_role("link", name=re.compile(r"File \(URL template\)")).click()
    page.get_by_label("Package id").fill("cli")
    page.get_by_label("Incoming path").fill("/cli/{version}/{file}")
    page.get_by_label("Outgoing URL").fill(
        "https://github.com/acme/cli/releases/download/v{version}/{file}"
    )
    page.get_by_role("button", name="Create").click()
    page.get_by_text(f"curl -LO https://{HOST}/cli/1.2.0/example-1.2.0.tar.gz").wait_for()


def switch_backend(page, folder):
    page.get_by_role("link", name="Switch backend").click()
    page.get_by_label("Outgoing URL").fill(MIRROR + "{file}")
    page.get_by_role("button", name="Preview the change").click()
    page.get_by_role("table").get_by_text(MIRROR + "{file}").wait_for()
    screenshot(page, "5-switch-backend-diff", folder)
    page.get_by_role("button", name="Save and go live").click()
    page.get_by_text("the gateway uses the new backend now").wait_for()


def first_day(server, folder, ingest):
    print(f"screenshots: {folder}")
    with chromium_page(server.url, folder) as page:
        sign_up(page)
        create_file_package(page)
        screenshot(page, "1-package", folder)
        copy = page.get_by_role("button", name="Copy the command").first
        copy.click()
        page.get_by_role("button", name="Copy the command", exact=False).filter(
            has_text="Copied"
        ).wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == (
            page.locator("pre.command code").first.inner_text().strip()
        )
        page.get_by_role("link", name="Domains").click()
        page.get_by_text("(default)").wait_for()
        screenshot(page, "2-domains", folder)

        for _ in range(3):
            assert download(server, HOST, PATH) == (307, GITHUB)
        ingest()

        page.get_by_role("link", name="Analytics").click()
        page.locator("body[data-charts-drawn]").wait_for(state="attached")
        assert page.locator("#total-downloads").inner_text() == "3"
        assert page.locator("#series-chart").is_visible()
        screenshot(page, "3-analytics", folder)
        page.get_by_label("Version").fill("1.0")
        page.get_by_role("button", name="Show").click()
        # PostgreSQL reads daily summaries (today: the raw events); SQLite the raw events.
        filtered = re.compile("Filtered counts (come from daily summaries|are read)")
        page.get_by_text(filtered).wait_for()
        assert page.locator("#total-downloads").inner_text() == "3"
        page.get_by_role("link", name="Packages").click()
        assert page.get_by_role("img", name="3 downloads in 30 days").is_visible()
        screenshot(page, "4-packages", folder)

        page.get_by_role("link", name="cli").click()
        switch_backend(page, folder)
        assert redirects_to(server, HOST, PATH, MIRROR)

        page.get_by_role("button", name=re.compile("Roll back revision")).first.click()
        page.get_by_text("Rolled back").wait_for()
        screenshot(page, "6-rolled-back", folder)
        assert redirects_to(server, HOST, PATH, GITHUB)

        page.get_by_role("link", name=re.compile("What changed in revision")).first.click()
        page.locator("ins", has_text="github.com/acme/cli").wait_for()
        screenshot(page, "7-what-the-rollback-changed", folder)


def test_a_maintainer_signs_up_publishes_counts_switches_and_rolls_back(
    gateway_server,  # noqa: F811
    celery_worker,
):
    first_day(
        gateway_server.start(),
        ARTIFACTS / "production",
        ingest=lambda: ingest_events.delay().get(timeout=60),
    )


def test_the_same_day_works_in_embedded_mode(embedded_server):
    first_day(embedded_server.start(), ARTIFACTS / "embedded", ingest=lambda: None)
