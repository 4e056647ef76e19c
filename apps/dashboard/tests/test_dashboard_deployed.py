"""Issues #19 and #18 walked through as a maintainer meets them in production
(apps/dashboard/tests/deployed.py: the runtime lock's gunicorn, gateway,
Celery worker and beat behind Caddy with an ACME certificate, on non-default
ports, in a Chromium that trusts the CA as a machine would; curl and the API
over HTTPS as users' clients reach them): a file package created in the
dashboard whose copied command downloads through the edge, its downloads
ingested by the worker and read on the analytics page, the package page and
the public badge and page; bad configuration refused with the field named;
manifest import, export and rollback through the API; the API's index and
docs served from the dashboard's host; 5,000 packages listed, searched and
sorted. Screenshots in var/test-artifacts/dashboard/deployed/."""

from __future__ import annotations

import json
import re
import shlex
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from apps.accounts.models import ApiToken, Organisation, User
from apps.dashboard.tests.browser import (
    ARTIFACTS,
    browser_page,
    screenshot,
    session_cookie,
    shoot,
    watch_the_policy,
)
from apps.dashboard.tests.conftest import count_downloads, make_user
from apps.dashboard.tests.deployed import (  # noqa: F401 - the deployed shape's fixtures
    dashboard_page,
    deployed,
    deployed_env,
    log_in,
)
from apps.dashboard.tests.test_package_list import add_packages
from apps.gateway.tests.clients.test_file_clients import RELEASE_BYTES, Backend, write
from apps.gateway.tests.clients.test_production_topology import EdgeConnection
from apps.gateway.tests.clients.test_tls_edge import clean_environment, run
from apps.gateway.tests.conftest import DASHBOARD, DOMAIN, Edge, edge, gateway_server  # noqa: F401
from apps.packages import services
from apps.packages.models import Domain

pytestmark = pytest.mark.slow

FOLDER = ARTIFACTS / "deployed"
# The request the package page makes up for /cli/{version}/{file} (engine/examples.py).
EXAMPLE = "/cli/1.2.0/example-1.2.0.tar.gz"
THRESHOLD = 5  # PUBLIC_STATS_MIN_COUNT of these deployments


@pytest.fixture
def edge_env(tmp_path) -> dict[str, str]:
    return {**deployed_env(tmp_path), "PUBLIC_STATS_MIN_COUNT": str(THRESHOLD)}


@pytest.fixture
def releases(tmp_path):
    """A file server holding the release the page's example command asks for."""
    root = tmp_path / "files"
    write(root / "releases/v1.2.0/example-1.2.0.tar.gz", RELEASE_BYTES)
    backend = Backend(root)
    yield backend
    backend.stop()


def acme_on_its_domain() -> tuple[User, Organisation]:
    """Ada's organisation with DOMAIN verified (its TXT record found)."""
    ada = make_user("ada@example.com")
    acme = Organisation.create_for(ada, "Acme")
    domain = services.claim_domain(acme, services.SYSTEM, DOMAIN)
    Domain.objects.filter(id=domain.id).update(verified=True, verified_at=timezone.now())
    return ada, acme


def fill_new_file_package(page, **fields: str) -> None:
    """The "new package" form of a file rule on DOMAIN, filled in and sent."""
    page.goto("/packages/new/?type=file-v1")
    page.get_by_label("Domain").select_option(DOMAIN)
    for label, value in fields.items():
        page.get_by_label(label, exact=True).fill(value)
    with page.expect_navigation():
        page.get_by_role("button", name="Create").click()


def new_release_package(page, backend_url: str) -> None:
    fill_new_file_package(
        page,
        **{
            "Package id": "cli",
            "Package name": "Acme CLI",
            "Incoming path": "/cli/{version}/{file}",
            "Outgoing URL": backend_url + "/releases/v{version}/{file}",
        },
    )
    page.get_by_role("heading", name=re.compile("Acme CLI"), level=1).wait_for()


def copied_command(page) -> str:
    """What the first "Your users run" command's copy button puts in the clipboard."""
    page.get_by_role("button", name="Copy the command").first.click()
    page.get_by_role("button", name="Copy the command").filter(has_text="Copied").wait_for()
    return page.evaluate("navigator.clipboard.readText()")


def run_as_a_user(command: str, tls_edge: Edge, folder: Path) -> bytes:
    """`command` (a curl command from the page) run as written, on a machine
    that trusts the edge's CA and resolves DOMAIN to it; the file it saved."""
    program, *arguments = shlex.split(command)
    assert program == "curl"
    folder.mkdir(parents=True, exist_ok=True)
    run(
        ["curl", "-q", "-sSf", "--cacert", str(tls_edge.root), *tls_edge.resolve(), *arguments],
        env=clean_environment(),
        cwd=folder,
    )
    return (folder / Path(EXAMPLE).name).read_bytes()


def curl_text(tls_edge: Edge, url: str) -> str:
    result = run(
        ["curl", "-q", "-sSf", "--cacert", str(tls_edge.root), *tls_edge.resolve(DASHBOARD), url],
        env=clean_environment(),
    )
    return result.stdout


def reload_until(page, selector: str, text: str, timeout: float = 60) -> None:
    """Reload until `selector` reads `text` (downloads are counted by the worker, in seconds)."""
    deadline = time.monotonic() + timeout
    while page.locator(selector).inner_text().strip() != text:
        assert time.monotonic() < deadline, page.locator(selector).inner_text()
        time.sleep(0.5)
        page.reload()


def shown_badge(page) -> str:
    """The badge the package page shows, as the browser has it (from its cache if there)."""
    badge = page.get_by_role("img", name=re.compile("The badge of"))
    return page.evaluate(
        "src => fetch(src, {cache: 'force-cache'}).then(r => r.text())", badge.get_attribute("src")
    )


def as_on_a_desktop(page) -> None:
    """Back to a desktop's width in light mode, after `shoot`."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(color_scheme="light")


def cells(row) -> list[str]:
    return [cell.strip() for cell in row.get_by_role("cell").all_inner_texts()]


def day_row(page, day) -> list[str]:
    return cells(page.locator("#series-table tbody tr", has_text=day.isoformat()))


def test_a_file_package_downloads_through_the_edge_and_its_counts_read_everywhere(
    deployed,  # noqa: F811
    releases,
    tmp_path,
):
    _ada, acme = acme_on_its_domain()
    today = datetime.now(UTC).date()
    earlier = today - timedelta(days=8)  # in the 7 days before the last 7
    count_downloads(acme, "cli", earlier, 4, version="1.1.0", client="curl")
    tls_edge = deployed.edge
    badge = deployed.url("/stats/acme/cli.svg")
    overflows: dict[str, list[str]] = {}

    with dashboard_page(deployed, tmp_path, FOLDER) as page:
        violations = watch_the_policy(page)
        log_in(page)
        new_release_package(page, releases.url)
        package_path = page.url.removeprefix(deployed.url())

        # A concrete command on the edge's port, copied exactly.
        command = f"curl -LO {tls_edge.url(EXAMPLE)}"
        assert page.locator("pre.command code").first.inner_text() == command
        assert copied_command(page) == command

        page.get_by_role("button", name="Publish the download count").click()
        page.get_by_text("Anyone can now see the download count").wait_for()
        assert f"&lt; {THRESHOLD}/month" in curl_text(tls_edge, badge)  # 4: under k

        for n in range(3):
            assert run_as_a_user(command, tls_edge, tmp_path / f"user-{n}") == RELEASE_BYTES
        assert releases.paths() == ["/releases/v1.2.0/example-1.2.0.tar.gz"] * 3

        # The worker ingests them: the package page counts its 30 days.
        reload_until(page, "#package-downloads", "7")
        versions = page.locator("table", has_text="Top versions")
        assert cells(versions.get_by_role("row", name=re.compile("^1.2.0"))) == ["1.2.0", "3"]
        clients = page.locator("table", has_text="Top clients")
        assert cells(clients.get_by_role("row").first) == ["curl", "7"]
        assert "7/month" in shown_badge(page)  # not the "< 5" the browser has kept
        shoot(page, "package", package_path, FOLDER, overflows)

        # Analytics: 30 days filled with zeros, presets, the period before, top packages.
        as_on_a_desktop(page)
        page.goto("/analytics/")
        assert page.locator("#total-downloads").inner_text() == "7"
        page.get_by_text("The chart as a table").click()
        assert page.locator("#series-table tbody tr").count() == 30
        assert day_row(page, today)[1] == "3"
        assert day_row(page, today - timedelta(days=1))[1] == "0"
        assert day_row(page, earlier)[1] == "4"
        top = page.locator("table.top-packages tbody tr")
        assert [cells(row)[:3] for row in top.all()] == [["cli", "7", "new"]]
        presets = page.get_by_role("navigation", name="Period")
        seven_days = presets.get_by_role("link", name="7 days")
        with page.expect_navigation():
            seven_days.click()
        assert seven_days.get_attribute("aria-current") == "true"
        assert page.locator("#total-downloads").inner_text() == "3"
        downloads = page.locator("dl.totals > div", has=page.locator("#total-downloads"))
        assert downloads.locator(".previous").inner_text() == "−25 % · 4 the period before"
        shoot(page, "analytics-7-days", page.url.removeprefix(deployed.url()), FOLDER, overflows)
        shoot(page, "analytics", "/analytics/", FOLDER, overflows)

        # The public badge and page, through the edge, for anyone.
        assert "7/month" in curl_text(tls_edge, badge)
        with browser_page(page.context.browser, deployed.url(), FOLDER) as visitor:
            visitors_violations = watch_the_policy(visitor)
            visitor.goto("/stats/acme/cli/")
            assert visitor.locator("#public-last-days").inner_text() == "7"
            shoot(visitor, "public-stats", "/stats/acme/cli/", FOLDER, overflows)
    assert overflows == {}
    assert violations + visitors_violations == []


class Api:
    """The API over HTTPS through the edge, with a token, as a script calls it."""

    def __init__(self, tls_edge: Edge, token: str):
        self.edge, self.token = tls_edge, token

    def __call__(self, method: str, path: str, body=None) -> tuple[int, object]:
        connection = EdgeConnection(self.edge, DASHBOARD)
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection.request(method, path, json.dumps(body) if body is not None else None, headers)
        response = connection.getresponse()
        text = response.read()
        connection.close()
        return response.status, json.loads(text) if text else None

    def get(self, path: str):
        status, body = self("GET", path)
        assert status == 200, body
        return body

    def keys(self, resource: str, field: str) -> list:
        return sorted(item[field] for item in self.get(f"/api/v1/{resource}/?limit=500")["results"])


def redirect_of(tls_edge: Edge, path: str) -> str | None:
    """Where the gateway sends a download of `path` on DOMAIN through the edge."""
    connection = EdgeConnection(tls_edge, DOMAIN)
    connection.request("GET", path, headers={"User-Agent": "curl/8.5.0"})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.getheader("Location")


def eventually_redirects(tls_edge: Edge, path: str, location: str, timeout: float = 10) -> bool:
    """Whether downloads of `path` go to `location` within `timeout` (changes are published)."""
    deadline = time.monotonic() + timeout
    while redirect_of(tls_edge, path) != location:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


CLI_RULE = {
    "type": "file-v1",
    "domain": DOMAIN,
    "package-id": "cli",
    "incoming-path": "/cli/{version}/{file}",
    "outgoing-url": "https://releases.example/cli/v{version}/{file}",
}
NEW_TOOL = {
    "Package id": "tool",
    "Incoming path": "/tool/{version}/{file}",
    "Outgoing URL": "https://releases.example/tool/v{version}/{file}",
}
IMPORTED = [
    {"type": "pixel-v1", "domain": DOMAIN, "package-id": "readme-pixel"},
    {
        "type": "file-v1",
        "domain": DOMAIN,
        "package-id": "docs",
        "incoming-path": "/docs/{file}",
        "outgoing-url": "https://docs.example/{file}",
    },
]


def refused(page, field: str, **changes: str) -> str:
    """The "new package" form with `changes` over NEW_TOOL sent: the error shown next to `field`."""
    fill_new_file_package(page, **{**NEW_TOOL, **changes})
    return page.locator(f"#id_{field}-errors").inner_text()


def test_bad_configuration_is_refused_and_the_api_imports_exports_and_rolls_back(
    deployed,  # noqa: F811
    tmp_path,
):
    ada, acme = acme_on_its_domain()
    services.create_rule(acme, services.SYSTEM, CLI_RULE)
    api = Api(deployed.edge, ApiToken.issue(acme, ada, name="deploy", scope="write")[1])
    tls_edge = deployed.edge

    with dashboard_page(deployed, tmp_path, FOLDER) as page:
        violations = watch_the_policy(page)
        log_in(page)

        # Rules that could never match, and an id that exists: refused at their field.
        vers = refused(page, "outgoing_url", **{"Outgoing URL": "https://x.example/v{vers}"})
        assert vers.startswith("outgoing-url uses {vers}, which incoming-path does not define")
        screenshot(page, "refused-unknown-variable", FOLDER)
        slash = refused(page, "incoming_path", **{"Incoming path": "tool/{version}/{file}"})
        assert slash.startswith("incoming-path must start with /")
        screenshot(page, "refused-path-without-slash", FOLDER)
        exists = refused(page, "package_id", **{"Package id": "cli"})
        assert "a package with id cli exists" in exists
        screenshot(page, "refused-existing-package-id", FOLDER)
        assert api.keys("packages", "key") == ["cli"]
        assert len(api.get("/api/v1/rules/")["results"]) == 1

        # Import, export, import again: the same rules, no new revision.
        before = api.get("/api/v1/manifest/")
        status, summary = api("POST", "/api/v1/manifest/", {"rules": before["rules"] + IMPORTED})
        assert (status, summary["created"], summary["deleted"]) == (200, 2, 0), summary
        rule_ids = api.keys("rules", "id")
        revisions = api.get("/api/v1/revisions/")["count"]
        exported = api.get("/api/v1/manifest/")
        status, again = api("POST", "/api/v1/manifest/", exported)
        assert status == 200
        assert (again["created"], again["changed"], again["deleted"]) == (0, 0, 0)
        assert again["revision"] is None
        assert api.keys("rules", "id") == rule_ids
        assert api.get("/api/v1/revisions/")["count"] == revisions
        assert api.get("/api/v1/manifest/") == exported

        # Rolling the import back undoes all of it, the packages it created too.
        status, _ = api("POST", f"/api/v1/revisions/{summary['revision']}/rollback/")
        assert status == 201
        assert api.get("/api/v1/manifest/") == before
        assert api.keys("packages", "key") == ["cli"]

        # A revision changed since is refused with the reason; the gateway keeps the latest.
        (cli_rule,) = api.keys("rules", "id")
        for mirror in ("https://a.example/{file}", "https://b.example/{file}"):
            status, _ = api("PATCH", f"/api/v1/rules/{cli_rule}/", {"outgoing-url": mirror})
            assert status == 200
        updates = api.get(f"/api/v1/revisions/?object_type=rule&object_id={cli_rule}")
        first = [r for r in updates["results"] if r["action"] == "update"][-1]
        status, refusal = api("POST", f"/api/v1/revisions/{first['id']}/rollback/")
        assert status == 409
        assert "has changed since this revision" in refusal["errors"][0]["message"]
        assert eventually_redirects(tls_edge, EXAMPLE, "https://b.example/example-1.2.0.tar.gz")

        # The API's index answers JSON; its docs come from the dashboard's host alone.
        index = page.goto("/api/v1/")
        assert index.headers["content-type"] == "application/json"
        resources = json.loads(page.locator("body").inner_text())["resources"]
        assert resources["packages"] == deployed.url("/api/v1/packages/")
        requested: list[str] = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto("/api/v1/docs/")
        page.locator(".swagger-ui .title", has_text="Package gateway API").wait_for()
        page.locator(".opblock-tag", has_text="packages").first.wait_for()
        screenshot(page, "api-docs", FOLDER)
        assert requested
        elsewhere = [url for url in requested if not url.startswith((deployed.url("/"), "data:"))]
        assert elsewhere == []
        assert page.goto("/favicon.ico").status == 200
    assert violations == []


def test_five_thousand_packages_list_search_and_sort_through_the_edge(
    deployed,  # noqa: F811
    tmp_path,
):
    ada, acme = acme_on_its_domain()
    add_packages(acme, 5000)
    count_downloads(acme, "pkg-4321", datetime.now(UTC).date(), 9)
    cookie = session_cookie(ada, deployed.url())
    overflows: dict[str, list[str]] = {}

    with dashboard_page(deployed, tmp_path, FOLDER) as page:
        violations = watch_the_policy(page)
        page.context.add_cookies([cookie])
        page.goto("/")
        rows = page.locator("table.packages tbody tr")
        assert rows.count() == 50
        assert cells(rows.first)[0] == "pkg 0000"
        assert page.get_by_text("Page 1 of 100 (5000 packages)").is_visible()
        shoot(page, "packages-5000", "/", FOLDER, overflows)

        as_on_a_desktop(page)
        page.goto("/")
        page.get_by_role("link", name="Next").click()
        page.get_by_text("Page 2 of 100 (5000 packages)").wait_for()
        assert cells(rows.first)[0] == "pkg 0050"

        page.get_by_label("Search").fill("PKG-432")
        page.get_by_label("Order by").select_option(label="Downloads (30 days)")
        with page.expect_navigation():
            page.get_by_role("button", name="Show").click()
        assert rows.count() == 10
        assert cells(rows.first)[0] == "pkg 4321"
        assert cells(rows.first)[3] == "9"
        screenshot(page, "packages-5000-searched-by-downloads", FOLDER)

        # The analytics package picker: a search box with suggestions, not 5,000 options.
        page.goto("/analytics/")
        picker = page.get_by_label("Package", exact=True)
        assert picker.get_attribute("type") == "search"
        suggestions = page.locator("#package-suggestions option")
        assert suggestions.count() == 20
        picker.press_sequentially("4321")
        page.locator('#package-suggestions option[value="pkg-4321"]').wait_for(state="attached")
        assert suggestions.count() == 1
        picker.fill(suggestions.get_attribute("value"))  # what choosing the suggestion does
        with page.expect_navigation():
            page.get_by_role("button", name="Show").click()
        page.get_by_role("heading", name="Analytics of pkg 4321").wait_for()
        assert page.locator("#total-downloads").inner_text() == "9"
        screenshot(page, "analytics-one-of-5000", FOLDER)
    assert overflows == {}
    assert violations == []
