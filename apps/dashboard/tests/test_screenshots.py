"""Every dashboard page in headless Chromium, in light and dark mode
(prefers-color-scheme), at desktop (1280 px) and phone (390 px) widths:
a screenshot of each into SCREENSHOTS_DIR (default
var/test-artifacts/screenshots/), no page wider than a phone's screen, no
Content-Security-Policy violation; and with JavaScript off, every figure
still readable (tables behind the charts)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.accounts.models import Organisation, User
from apps.gateway.tests.conftest import gateway_server, load_manifest  # noqa: F401
from apps.packages import services
from apps.packages.manifests import import_manifest
from apps.packages.models import Package
from scarf.testing import BASE_DIR

from .browser import browser_page, chromium, session_cookie, shoot, watch_the_policy
from .conftest import count_downloads

pytestmark = pytest.mark.slow

FOLDER = Path(os.environ.get("SCREENSHOTS_DIR", BASE_DIR / "var/test-artifacts/screenshots"))
LONG_NAME = "an-extraordinarily-long-package-name-that-maintainers-sometimes-choose-" * 2
CLI_DOWNLOADS = 30 * 7 + sum(range(30))  # count_downloads below, over 30 days


def populate() -> tuple[User, dict[str, str]]:
    """Acme with every rule type, 30 days of downloads, a long-named package,
    a domain waiting for its TXT record and published stats; its pages."""
    ada = User.objects.create_user("ada@example.com", "correct horse battery")
    acme = Organisation.create_for(ada, "Acme")
    import_manifest(acme, load_manifest("every-rule-type.json"), verify_domains=True)
    services.claim_domain(acme, services.SYSTEM, "downloads.a-rather-long-subdomain.example.org")
    Package.objects.create(organisation=acme, key="long-name", name=LONG_NAME, kind="file")
    today = datetime.now(UTC).date()
    for n in range(30):
        count_downloads(acme, "cli", today - timedelta(days=n), 7 + n, version="1.0", client="curl")
    count_downloads(acme, "long-name", today, 3, version="2.0", client="pip")
    cli = Package.objects.get(organisation=acme, key="cli")
    services.update_package(cli, services.SYSTEM, public_stats=True)
    pages = {
        "packages": "/",
        "package": f"/packages/{cli.id}/",
        "long-package": f"/packages/{Package.objects.get(key='long-name').id}/",
        "analytics": "/analytics/",
        "domains": "/domains/",
        "audit-log": "/organisation/audit-log/",
    }
    return ada, pages


def test_every_page_in_light_and_dark_on_desktop_and_phone(gateway_server):  # noqa: F811
    server = gateway_server.start()
    ada, pages = populate()
    cookie = session_cookie(ada, server.url)  # before the browser: its event loop bars the ORM
    overflows: dict[str, list[str]] = {}
    print(f"screenshots: {FOLDER}")
    with chromium() as browser:
        with browser_page(browser, server.url, FOLDER) as page:
            violations = watch_the_policy(page)
            page.context.add_cookies([cookie])
            for name, path in pages.items():
                shoot(page, name, path, FOLDER, overflows)
            page.goto(pages["packages"])
            assert page.get_by_role("link", name=LONG_NAME).is_visible()
            page.goto(pages["long-package"])
            name = page.get_by_role("heading", level=1).get_by_title(LONG_NAME)
            assert name.evaluate("e => e.scrollWidth > e.clientWidth")  # cut, whole on hover
        with browser_page(browser, server.url, FOLDER) as visitor:
            visitor_violations = watch_the_policy(visitor)
            shoot(visitor, "public-stats", "/stats/acme/cli/", FOLDER, overflows)
            assert visitor.locator("#public-last-days").inner_text() == str(CLI_DOWNLOADS)

    assert overflows == {}
    assert violations + visitor_violations == []
    assert len(list(FOLDER.glob("*-phone-dark.png"))) >= len(pages) + 1


def test_with_javascript_off_every_figure_is_readable(gateway_server):  # noqa: F811
    server = gateway_server.start()
    ada, pages = populate()
    cookie = session_cookie(ada, server.url)
    with (
        chromium() as browser,
        browser_page(browser, server.url, FOLDER, java_script_enabled=False) as page,
    ):
        page.context.add_cookies([cookie])

        page.goto(pages["analytics"])
        assert page.locator("#total-downloads").inner_text() == str(CLI_DOWNLOADS + 3)
        page.get_by_text("The chart as a table").click()
        today = page.locator("tr", has_text=datetime.now(UTC).date().isoformat())
        assert today.get_by_role("cell").nth(1).inner_text() == str(7 + 3)
        assert today.is_visible()

        page.goto(pages["package"])
        assert page.locator("#package-downloads").inner_text() == str(CLI_DOWNLOADS)
        page.get_by_text("Downloads per day as a table").click()
        per_day = page.locator("details", has_text="Downloads per day as a table")
        assert per_day.get_by_role("cell", name=str(7 + 29), exact=True).is_visible()

        page.goto(pages["packages"])
        assert page.get_by_role("img", name=f"{CLI_DOWNLOADS} downloads in 30 days").is_visible()

        page.goto("/stats/acme/cli/")
        assert page.locator("#public-last-days").inner_text() == str(CLI_DOWNLOADS)
