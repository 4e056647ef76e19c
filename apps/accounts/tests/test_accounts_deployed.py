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

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from apps.accounts.models import Membership, Organisation
from apps.accounts.tests.test_passkeys import add_virtual_authenticator
from apps.accounts.tests.two_factor import PASSWORD, totp, unspent_code
from apps.dashboard.tests.browser import ARTIFACTS, screenshot, watch_the_policy
from apps.dashboard.tests.conftest import make_user
from apps.dashboard.tests.deployed import (  # noqa: F401 - the deployed shape's fixtures
    dashboard_page,
    deployed,
    edge_browser,
    edge_env,
    log_in,
)
from apps.gateway.tests.conftest import DOMAIN, edge, gateway_server  # noqa: F401

pytestmark = pytest.mark.slow

FOLDER = ARTIFACTS / "deployed-accounts"
EMAIL = "ada@example.com"


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
        screenshot(page, "5-security-log", FOLDER)
        log_out(page)

        log_in(page, "bob@example.com")
        page.get_by_text("Acme requires two-factor authentication").wait_for()
        screenshot(page, "6-member-without-two-factor-refused", FOLDER)
    assert violations == []
