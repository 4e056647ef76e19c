"""Issue #20's accounts, walked through as a maintainer meets them in
production (apps/dashboard/tests/deployed.py: the runtime lock's gunicorn,
gateway, Celery worker and beat behind Caddy with an ACME certificate, on
non-default ports, in a Chromium that trusts the CA as a machine would): an
authenticator app, recovery codes and a passkey on the real HTTPS origin, an
organisation requiring two-factor, a stale session asked again before a
backend switch, the owners' e-mail and its undo link, the API's token
unaffected, sign-in with GitHub. Screenshots in
var/test-artifacts/dashboard/deployed-accounts/."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.db import connections
from django.test import Client

from apps.accounts.models import ApiToken, Membership, Organisation
from apps.accounts.tests.forge import CLIENT_ID, CLIENT_SECRET, Forge
from apps.accounts.tests.test_forge_sign_in import ADA, address
from apps.accounts.tests.test_passkeys import add_virtual_authenticator
from apps.accounts.tests.two_factor import PASSWORD, totp, unspent_code
from apps.dashboard.tests.browser import ARTIFACTS, browser_page, screenshot, watch_the_policy
from apps.dashboard.tests.conftest import make_user
from apps.dashboard.tests.deployed import (  # noqa: F401 - the deployed shape's fixtures
    dashboard_page,
    deployed,
    deployed_env,
    edge_browser,
    log_in,
)
from apps.gateway.tests.clients.test_production_topology import EdgeConnection
from apps.gateway.tests.conftest import DASHBOARD, DOMAIN, edge, gateway_server  # noqa: F401
from apps.packages.manifests import import_manifest
from scarf.testing import eventually, sign_in

pytestmark = pytest.mark.slow

FOLDER = ARTIFACTS / "deployed-accounts"
EMAIL = "ada@example.com"
PHONE = "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"


@pytest.fixture
def github():
    """A stand-in GitHub where Ada is signed in, with her address verified."""
    forge = Forge(ADA, address(EMAIL, verified=True)).start()
    yield forge
    forge.stop()


@pytest.fixture
def edge_env(tmp_path, github):
    """Sign-in with GitHub configured, as a self-hoster does, by environment."""
    return {
        **deployed_env(tmp_path),
        "GITHUB_URL": github.url,
        "GITHUB_CLIENT_ID": CLIENT_ID,
        "GITHUB_CLIENT_SECRET": CLIENT_SECRET,
    }


def outside_the_browsers_loop(function, *args):
    """Run `function` (database work) in a thread: Playwright's loop is running in this one."""

    def run():
        try:
            return function(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as thread:
        return thread.submit(run).result()


def add_a_member(email: str) -> None:
    Membership.objects.create(
        user=make_user(email), organisation=Organisation.objects.get(name="Acme"), role="member"
    )


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in", exact=True).wait_for()


def enter_code(page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name=re.compile("Sign in", re.IGNORECASE)).click()


def confirm_password_if_asked(page) -> None:
    password = page.locator("input[type=password]")
    if password.count():
        password.fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()


def test_a_maintainer_protects_the_account_and_the_organisation(deployed, tmp_path):  # noqa: F811
    with dashboard_page(deployed, tmp_path, FOLDER) as page:
        violations = watch_the_policy(page)
        add_virtual_authenticator(page)
        page.goto("/accounts/signup/")
        page.get_by_label("E-mail address").fill(EMAIL)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_label("Organisation name").fill("Acme")
        page.get_by_role("button", name="Sign up").click()
        page.get_by_role("heading", name="Acme", level=1).wait_for()
        assert page.url.startswith(deployed.url("/"))
        assert page.evaluate("window.isSecureContext")

        # An authenticator app: the key the page shows, a code computed here.
        page.goto("/accounts/2fa/totp/activate/")
        confirm_password_if_asked(page)
        secret = page.locator("#authenticator_secret").input_value()
        page.get_by_label("Authenticator code").fill(totp(secret))
        page.get_by_role("button", name="Activate").click()
        page.goto("/accounts/2fa/recovery-codes/")
        codes = page.get_by_label("Unused codes").input_value().split()
        assert len(codes) == 10
        screenshot(page, "1-recovery-codes", FOLDER)

        # A passkey, on the HTTPS origin a browser demands for one.
        page.goto("/accounts/2fa/webauthn/add/")
        confirm_password_if_asked(page)
        page.get_by_label("Name").fill("laptop")
        page.get_by_label("Passwordless").check()
        page.get_by_role("button", name="Add", exact=True).click()
        page.get_by_text("Security key added.").wait_for()
        screenshot(page, "2-passkey-added", FOLDER)
        log_out(page)

        # The password alone is not enough; a wrong code is refused, a right one lets in.
        log_in(page)
        enter_code(page, "000000")
        page.get_by_text(re.compile("Incorrect code", re.IGNORECASE)).wait_for()
        code = unspent_code(secret)
        enter_code(page, code)
        page.get_by_role("heading", name="Acme", level=1).wait_for()
        log_out(page)

        # The same code again is refused; a recovery code lets in once.
        log_in(page)
        enter_code(page, code)
        page.get_by_text(re.compile("Incorrect code", re.IGNORECASE)).wait_for()
        screenshot(page, "3-replayed-code-refused", FOLDER)
        enter_code(page, codes[0])
        page.get_by_role("heading", name="Acme", level=1).wait_for()
        log_out(page)

        # The passkey alone signs in.
        page.get_by_role("button", name="Sign in with a passkey").click()
        page.get_by_role("heading", name="Acme", level=1).wait_for()

        # The organisation requires two-factor; the members page says who has it.
        outside_the_browsers_loop(add_a_member, "bob@example.com")
        page.goto("/organisation/members/")
        confirm_password_if_asked(page)
        page.get_by_label(re.compile("Require two-factor")).check()
        page.get_by_role("button", name=re.compile("Save")).click()
        page.get_by_text("Members now need a second factor").wait_for()
        bob = page.get_by_role("row", name=re.compile("bob@example.com"))
        assert bob.get_by_role("cell").nth(2).inner_text() == "No"
        ada = page.get_by_role("row", name=re.compile("ada@example.com"))
        assert ada.get_by_role("cell").nth(2).inner_text() == "Yes"
        screenshot(page, "4-members-two-factor", FOLDER)

        page.get_by_role("link", name="Security log").click()
        log = page.locator("main").inner_text()
        assert "127.0.0.0/24" in log  # the address Caddy saw, as a network
        for checks in ("password and authenticator app", "password and recovery code", "passkey"):
            assert f"Sign-in: signed in with {checks}\t" in log
        for factor in ("an authenticator app", "recovery codes", "a security key or passkey"):
            assert f"Second factor: added {factor}\t" in log
        screenshot(page, "5-security-log", FOLDER)
        log_out(page)

        log_in(page, "bob@example.com")
        page.get_by_text("Acme requires two-factor authentication").wait_for()
        screenshot(page, "6-member-without-two-factor-refused", FOLDER)
    assert violations == []


GITHUB = "https://github.com/acme/cli/releases/download/v{version}/{file}"
MIRROR = "https://mirror.example/cli/{version}/{file}"
DOWNLOAD = "/cli/1.0/cli.tgz"


@pytest.fixture
def acme_with_a_rule(transactional_db):
    """Ada owns Acme, whose `cli` downloads on get.acme.test go to GitHub."""
    ada = make_user(EMAIL)
    acme = Organisation.create_for(ada, "Acme")
    rule = {
        "type": "file-v1",
        "domain": DOMAIN,
        "package-id": "cli",
        "incoming-path": "/cli/{version}/{file}",
        "outgoing-url": GITHUB,
    }
    import_manifest(acme, {"rules": [rule]}, verify_domains=True)
    return ada, acme


def download_location(site) -> str:
    """Where the gateway sends a download, asked over HTTPS through the edge."""
    connection = EdgeConnection(site.edge, DOMAIN)
    connection.request("GET", DOWNLOAD, headers={"User-Agent": "curl/8.5.0"})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 307
    return response.getheader("Location")


def stale_session_cookie(user, site) -> dict:
    """A session whose last password check was longer ago than REAUTH_MINUTES."""
    client = sign_in(Client(), user, checked_seconds_ago=settings.REAUTH_MINUTES * 60 + 60)
    name = settings.SESSION_COOKIE_NAME
    return {"name": name, "value": client.cookies[name].value, "url": site.url("/")}


def api_patch(site, path: str, token: str, body: dict) -> tuple[int, dict]:
    connection = EdgeConnection(site.edge, DASHBOARD)
    connection.request(
        "PATCH",
        "/api/v1/" + path,
        json.dumps(body),
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    response = connection.getresponse()
    answer = json.loads(response.read() or b"{}")
    connection.close()
    return response.status, answer


def test_a_stale_session_confirms_before_a_switch_and_the_owners_can_undo_it(
    deployed,  # noqa: F811
    acme_with_a_rule,
    tmp_path,
):
    ada, acme = acme_with_a_rule
    cookie = stale_session_cookie(ada, deployed)
    _token, secret = ApiToken.issue(acme, ada, name="ci", scope="write")
    rule_id = acme.packages.get(key="cli").rules.get().id
    assert (
        download_location(deployed) == "https://github.com/acme/cli/releases/download/v1.0/cli.tgz"
    )

    with dashboard_page(deployed, tmp_path, FOLDER) as page:
        violations = watch_the_policy(page)
        page.context.add_cookies([cookie])
        page.goto("/")
        page.get_by_role("link", name="cli").first.click()
        page.get_by_role("link", name="Switch backend").click()
        page.get_by_label("Outgoing URL").fill(MIRROR)
        page.get_by_role("button", name="Preview the change").click()
        page.get_by_role("heading", name="Confirm Access").wait_for()
        screenshot(page, "7-asked-again-before-a-switch", FOLDER)
        confirm_password_if_asked(page)  # then the preview is shown, as asked
        page.get_by_role("button", name="Save and go live").click()
        page.get_by_text("the gateway uses the new backend now").wait_for()
        assert eventually(lambda: download_location(deployed).startswith("https://mirror.example/"))

        (message,) = deployed.emails_about("[Acme] Where downloads go")
        body = message.get_content()
        assert message["To"] == EMAIL
        assert f"outgoing-url: {GITHUB} → {MIRROR}" in body
        assert re.search(rf"By:\s+{re.escape(EMAIL)}", body)
        assert re.search(r"From:\s+127\.0\.0\.0/24", body)  # as the edge saw the browser
        undo = re.search(r"To undo it: (\S+)", body).group(1)
        assert undo.startswith(deployed.url("/revisions/"))  # the public HTTPS URL, with its port

        page.goto(undo)
        page.get_by_role("button", name="Roll back").first.click()
        page.get_by_text("Rolled back").wait_for()
        screenshot(page, "8-switch-undone-from-the-email", FOLDER)
        assert eventually(lambda: download_location(deployed).startswith("https://github.com/"))
    assert violations == []

    # The API is unaffected by how long ago anyone typed a password: the token is the credential.
    status, answer = api_patch(deployed, f"rules/{rule_id}/", secret, {"outgoing-url": MIRROR})
    assert status == 200, answer
    assert eventually(lambda: download_location(deployed).startswith("https://mirror.example/"))
    # The switch, its rollback, and the API's switch.
    *_, by_the_api = deployed.emails_about("Where downloads go", count=3)
    assert re.search(r"By:\s+token ci \(gw_", by_the_api.get_content())


def test_an_existing_maintainer_links_github_and_signs_in_with_it(
    deployed,  # noqa: F811
    acme_with_a_rule,
    github,
    tmp_path,
):
    with dashboard_page(deployed, tmp_path, FOLDER) as page:
        violations = watch_the_policy(page)
        page.goto("/accounts/login/")
        page.get_by_role("button", name="Sign in with GitHub").click()
        page.get_by_role("heading", name="Link your GitHub account?").wait_for()
        screenshot(page, "9-link-github", FOLDER)
        page.get_by_role("button", name="Link and sign in").click()
        page.get_by_role("heading", name="Acme", level=1).wait_for()
        log_out(page)

        page.get_by_role("button", name="Sign in with GitHub").click()
        page.get_by_role("heading", name="Acme", level=1).wait_for()
        screenshot(page, "10-signed-in-with-github", FOLDER)
        page.get_by_role("link", name="Security log").click()
        assert "Sign-in: signed in with GitHub\t" in page.locator("main").inner_text()
    assert violations == []
    # What GitHub compares with the app's registered callback: the public HTTPS address.
    callback = deployed.url("/accounts/github/login/callback/")
    assert github.redirect_uris == [callback, callback]


def test_a_maintainer_signs_out_a_session_on_another_device(
    deployed,  # noqa: F811
    acme_with_a_rule,
    tmp_path,
):
    with (
        edge_browser(deployed.edge, tmp_path) as browser,
        browser_page(browser, deployed.url(), FOLDER) as laptop,
        browser_page(browser, deployed.url(), FOLDER, user_agent=PHONE) as phone,
    ):
        for device in (laptop, phone):
            log_in(device)
            device.get_by_role("heading", name="Acme", level=1).wait_for()

        laptop.get_by_role("link", name="Sessions").click()
        assert laptop.get_by_role("row", name=re.compile("Chrome on Android")).count() == 1
        screenshot(laptop, "11-sessions", FOLDER)
        laptop.get_by_role("button", name="Sign out all other sessions").click()
        laptop.get_by_text("This session").wait_for()
        assert laptop.get_by_role("row", name=re.compile("Android")).count() == 0

        phone.goto("/")
        phone.get_by_role("button", name="Log in", exact=True).wait_for()
        assert phone.url.startswith(deployed.url("/accounts/login/"))
