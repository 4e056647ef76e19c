"""Signing in with GitHub and GitLab against a local OAuth provider standing
in for them (apps/accounts/tests/forge.py): a new account, linking to an
existing one by a verified address once the person confirms, refusing an
unverified match or a new account without a verified address; the buttons
show only when the forge is configured.

GitHub's adapter reads GITHUB_URL when it is imported, so its tests run the
product as a server configured by environment, as a self-hoster does;
GitLab's reads the settings on each request, so its test runs in-process."""

import html
import re

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from apps.accounts.models import Organisation, User
from apps.gateway.tests.conftest import gateway_server  # noqa: F401

from .forge import CLIENT_ID, CLIENT_SECRET, GRACE_AT_GITLAB, Forge, configure_gitlab, through_forge

GRACE = {"id": 7, "login": "grace", "name": "Grace Hopper", "email": "grace@example.com"}
ADA = {"id": 8, "login": "ada", "name": "Ada Lovelace", "email": "ada@example.com"}


def address(email: str, verified: bool) -> list[dict]:
    return [{"email": email, "primary": True, "verified": verified, "visibility": "public"}]


@pytest.fixture
def forges():
    """`forges(user, emails)`: a started stand-in forge."""
    started = []

    def start(user: dict, emails: list[dict]) -> Forge:
        started.append(Forge(user, emails).start())
        return started[-1]

    yield start
    for forge in started:
        forge.stop()


def github_server(server, forge: Forge):
    server.env.update(
        GITHUB_URL=forge.url, GITHUB_CLIENT_ID=CLIENT_ID, GITHUB_CLIENT_SECRET=CLIENT_SECRET
    )
    return server.start()


def post_form(browser: requests.Session, url: str, data: dict | None = None):
    token = browser.cookies.get("csrftoken")
    return browser.post(url, data={"csrfmiddlewaretoken": token, **(data or {})}, timeout=30)


def sign_in_with_github(server) -> tuple[requests.Session, requests.Response]:
    """Press "Sign in with GitHub" on the login page; follow every redirect."""
    browser = requests.Session()
    page = browser.get(server.url + "/accounts/login/", timeout=30).text
    action = html.unescape(re.search(r'action="(/accounts/github/login/[^"]*)"', page).group(1))
    return browser, post_form(browser, server.url + action)


def test_a_new_github_user_gets_an_account(gateway_server, forges):  # noqa: F811
    server = github_server(gateway_server, forges(GRACE, address("grace@example.com", True)))

    browser, response = sign_in_with_github(server)

    assert response.url == server.url + "/"
    assert "grace@example.com" in response.text
    grace = User.objects.get(email="grace@example.com")
    assert not grace.has_usable_password()
    assert SocialAccount.objects.get(provider="github").user == grace


def test_a_verified_address_links_to_the_existing_account_once_confirmed(
    gateway_server,  # noqa: F811
    forges,
):
    ada = User.objects.create_user("ada@example.com", "correct horse battery")
    Organisation.create_for(ada, "Acme")
    server = github_server(gateway_server, forges(ADA, address("ada@example.com", True)))

    browser, asked = sign_in_with_github(server)
    linked_before_confirming = SocialAccount.objects.exists()
    response = post_form(browser, asked.url, {"link": "yes"})

    assert "Link your GitHub account?" in asked.text
    assert not linked_before_confirming
    assert response.url == server.url + "/"
    assert "<h1>Acme</h1>" in response.text
    assert SocialAccount.objects.get(provider="github").user == ada


def test_an_unverified_address_of_an_existing_account_is_refused(
    gateway_server,  # noqa: F811
    forges,
):
    User.objects.create_user("ada@example.com", "correct horse battery")
    server = github_server(gateway_server, forges(ADA, address("ada@example.com", False)))

    browser, response = sign_in_with_github(server)

    assert response.status_code == 403
    assert "Not signed in: the address is not verified at GitHub" in response.text
    assert "connect GitHub from" in response.text
    assert not SocialAccount.objects.exists()
    assert browser.get(server.url + "/", timeout=30).url.startswith(server.url + "/accounts/login/")


def test_a_new_account_needs_an_address_the_forge_verified(gateway_server, forges):  # noqa: F811
    """Invitations go to whoever holds an address: an unverified one makes no account."""
    server = github_server(gateway_server, forges(GRACE, address("grace@example.com", False)))

    _browser, response = sign_in_with_github(server)

    assert response.status_code == 403
    assert "a new account needs an address GitHub says is verified" in " ".join(
        response.text.split()
    )
    assert not User.objects.filter(email="grace@example.com").exists()


@pytest.mark.django_db
def test_the_buttons_show_only_for_configured_forges(client, settings):
    assert "Sign in with GitHub" not in client.get("/accounts/login/").content.decode()

    settings.SOCIALACCOUNT_PROVIDERS = {
        **settings.SOCIALACCOUNT_PROVIDERS,
        "gitlab": {"APPS": [{"client_id": CLIENT_ID, "secret": CLIENT_SECRET}]},
    }
    page = client.get("/accounts/login/").content.decode()

    assert "Sign in with GitLab" in page
    assert "Sign in with GitHub" not in page


@pytest.mark.django_db
def test_a_new_gitlab_user_gets_an_account(client, settings, forges):
    configure_gitlab(settings, forges(GRACE_AT_GITLAB, []))

    response = through_forge(client, client.post(reverse("gitlab_login")))

    assert response["Location"] == "/"
    assert SocialAccount.objects.get(provider="gitlab").user.email == "grace@example.com"
    assert client.get("/").status_code == 200
    # GitLab says the account is confirmed: an address verified here, which
    # allows adding a second factor.
    assert EmailAddress.objects.get(email="grace@example.com").verified
