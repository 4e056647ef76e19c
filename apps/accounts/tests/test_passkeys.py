"""Passkeys in headless Chromium with a virtual authenticator (the DevTools
protocol's WebAuthn domain): register one, sign out, sign in with it alone;
an organisation requiring two-factor lets that session in and refuses a
member without a second factor; the Content-Security-Policy is never
violated. Against the production shape (PostgreSQL, Redis); screenshots in
var/test-artifacts/dashboard/passkeys/."""

import pytest

from apps.accounts.models import Membership, Organisation
from apps.dashboard.tests.browser import ARTIFACTS, chromium_page, screenshot
from apps.dashboard.tests.conftest import make_user
from apps.gateway.tests.conftest import gateway_server  # noqa: F401

pytestmark = pytest.mark.slow

FOLDER = ARTIFACTS / "passkeys"
PASSWORD = "correct horse battery"


def add_virtual_authenticator(page) -> None:
    """A platform authenticator that holds passkeys and verifies the user at once."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )


def log_in(page, email: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()


def register_passkey(page) -> None:
    page.goto("/accounts/2fa/webauthn/add/")
    page.get_by_label("Password").fill(PASSWORD)  # asked again before adding a factor
    page.get_by_role("button", name="Confirm").click()
    page.get_by_label("Name").fill("laptop")
    page.get_by_label("Passwordless").check()
    page.get_by_role("button", name="Add", exact=True).click()
    page.get_by_text("Recovery Codes").first.wait_for()


def test_a_passkey_signs_in_alone_and_opens_an_organisation_requiring_two_factor(
    gateway_server,  # noqa: F811
):
    server = gateway_server.start()
    ada = make_user("ada@example.com")
    Organisation.create_for(ada, "Acme")
    globex = Organisation.create_for(make_user("gus@example.com"), "Globex")
    globex.require_two_factor = True
    globex.save()
    Membership.objects.create(user=ada, organisation=globex, role=Membership.MEMBER)
    Membership.objects.create(
        user=make_user("bob@example.com"), organisation=globex, role=Membership.MEMBER
    )

    violations = []
    with chromium_page(f"http://localhost:{server.port}", FOLDER) as page:
        page.on(
            "console",
            lambda message: (
                "Content Security Policy" in message.text and violations.append(message.text)
            ),
        )
        add_virtual_authenticator(page)
        log_in(page, "ada@example.com")
        register_passkey(page)
        screenshot(page, "1-passkey-added", FOLDER)
        page.get_by_role("button", name="Log out").click()

        page.get_by_role("button", name="Sign in with a passkey").click()
        page.get_by_text("ada@example.com", exact=True).wait_for()
        page.get_by_label("Organisation").select_option(label="Globex")
        page.get_by_role("heading", name="Globex", level=1).wait_for()
        screenshot(page, "2-signed-in-with-the-passkey", FOLDER)
        page.get_by_role("button", name="Log out").click()

        log_in(page, "bob@example.com")
        page.get_by_label("Organisation").select_option(label="Globex")
        page.get_by_text("Globex requires two-factor authentication").wait_for()
        screenshot(page, "3-refused-without-a-second-factor", FOLDER)

    assert violations == []  # allauth's WebAuthn scripts run as static files under the policy
