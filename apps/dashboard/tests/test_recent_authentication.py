"""Changes that redirect users need a password (or second factor) check of at
most REAUTH_MINUTES ago; an older session is asked again, and the change goes
through once it answers (an account that came through GitLab, with neither a
password nor a second factor, answers by confirming with GitLab). The API is
unaffected: the token is the credential."""

import html
import re

import pytest
from allauth.socialaccount.models import SocialAccount
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership, User
from apps.accounts.tests.forge import GRACE_AT_GITLAB, Forge, configure_gitlab, through_forge
from apps.api.tests.conftest import api_client, issue_token
from scarf.testing import sign_in

from .conftest import edit_form, make_user

pytestmark = pytest.mark.django_db

NEW_URL = "https://mirror.example/cli/{version}/{file}"
FORGE_PAGE = reverse("reauthenticate-with-forge")


@pytest.fixture
def rule(acme):
    return acme.packages.get(key="cli").rules.get()


@pytest.fixture
def stale(client, acme, settings):
    """An owner of Acme whose last password check was REAUTH_MINUTES and a second ago."""
    settings.REAUTH_MINUTES = 10
    user = make_user("stale@example.com")
    Membership.objects.create(user=user, organisation=acme, role=Membership.OWNER)
    return sign_in(client, user, checked_seconds_ago=10 * 60 + 1)


def switch(client, rule):
    return client.post(
        reverse("rule-edit", args=[rule.id]), edit_form(rule, outgoing_url=NEW_URL, confirm="1")
    )


def test_a_backend_switch_from_a_stale_session_asks_for_the_password_again(stale, rule):
    response = switch(stale, rule)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    rule.refresh_from_db()
    assert rule.config["outgoing-url"] != NEW_URL


def test_the_switch_goes_through_once_the_password_is_given(stale, rule):
    asked = switch(stale, rule)

    response = stale.post(asked["Location"], {"password": "correct horse battery"})

    rule.refresh_from_db()
    assert rule.config["outgoing-url"] == NEW_URL
    assert response["Location"] == reverse("package", args=[rule.package_id])


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("rule-edit", {"outgoing_url": NEW_URL}),  # the preview
        ("tokens", {"name": "", "scope": "write"}),  # a form error
        ("domains", {"hostname": "not a host"}),
    ],
)
def test_the_page_a_replayed_post_shows_posts_back_to_its_own_view(stale, rule, name, data):
    """After the password, the held POST is answered at the password page's
    address: a form without an action would post there, not to its view."""
    args = [rule.id] if name == "rule-edit" else []
    path = reverse(name, args=args)
    fields = edit_form(rule, **data) if name == "rule-edit" else data
    asked = stale.post(path, fields)

    page = stale.post(asked["Location"], {"password": "correct horse battery"})

    assert page.status_code == 200
    actions = re.findall(r'<form [^>]*method="post" action="([^"]*)"', page.content.decode())
    assert path in actions


def test_a_wrong_password_changes_nothing(stale, rule):
    asked = switch(stale, rule)

    response = stale.post(asked["Location"], {"password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].errors["password"]
    rule.refresh_from_db()
    assert rule.config["outgoing-url"] != NEW_URL


def test_a_session_checked_within_the_period_switches_at_once(client, acme, rule, settings):
    settings.REAUTH_MINUTES = 10
    sign_in(client, acme.memberships.get().user, checked_seconds_ago=9 * 60)

    response = switch(client, rule)

    assert response["Location"] == reverse("package", args=[rule.package_id])


@pytest.fixture
def gitlab(settings):
    """A stand-in GitLab, configured as the product's GitLab sign-in."""
    forge = Forge(GRACE_AT_GITLAB, []).start()
    configure_gitlab(settings, forge)
    yield forge
    forge.stop()


@pytest.fixture
def stale_forge_owner(client, acme, gitlab, settings):
    """Grace, an owner of Acme who came through GitLab (no password, no second
    factor), whose GitLab sign-in was REAUTH_MINUTES and a second ago."""
    settings.REAUTH_MINUTES = 10
    through_forge(client, client.post(reverse("gitlab_login")))
    grace = User.objects.get(email="grace@example.com")
    assert not grace.has_usable_password()
    Membership.objects.create(user=grace, organisation=acme, role=Membership.OWNER)
    client.post(reverse("switch-organisation", args=[acme.slug]))
    return sign_in(client, grace, checked_seconds_ago=10 * 60 + 1, method="socialaccount")


def confirm_with_gitlab(client, asked):
    """On the page asking again, press "Confirm with GitLab" and come back from it."""
    page = client.get(asked["Location"]).content.decode()
    action = re.search(r'action="(/accounts/gitlab/login/[^"]*)"', page)
    assert action, page
    return through_forge(client, client.post(html.unescape(action.group(1))))


def test_an_account_without_a_password_confirms_with_its_forge_and_the_switch_goes_through(
    stale_forge_owner, rule
):
    asked = switch(stale_forge_owner, rule)

    response = confirm_with_gitlab(stale_forge_owner, asked)

    assert asked["Location"].startswith(FORGE_PAGE)
    rule.refresh_from_db()
    assert rule.config["outgoing-url"] == NEW_URL
    assert response["Location"] == reverse("package", args=[rule.package_id])


def test_another_forge_account_does_not_confirm(stale_forge_owner, rule, gitlab):
    asked = switch(stale_forge_owner, rule)
    gitlab.user = {**GRACE_AT_GITLAB, "id": 10, "username": "mallory"}

    response = confirm_with_gitlab(stale_forge_owner, asked)

    assert response.status_code == 403
    assert "not the GitLab account linked to yours" in response.content.decode()
    rule.refresh_from_db()
    assert rule.config["outgoing-url"] != NEW_URL
    assert switch(stale_forge_owner, rule)["Location"].startswith(FORGE_PAGE)


def test_an_account_with_a_password_cannot_answer_with_its_forge_instead(stale, acme, rule, gitlab):
    owner = Membership.objects.get(organisation=acme, user__email="stale@example.com").user
    SocialAccount.objects.create(user=owner, provider="gitlab", uid=str(GRACE_AT_GITLAB["id"]))
    to_forge = stale.post(reverse("gitlab_login") + "?process=redirect&next=/")

    response = through_forge(stale, to_forge)

    assert response.status_code == 403
    assert "confirmed with its password or second factor" in response.content.decode()
    assert switch(stale, rule)["Location"].startswith(reverse("account_reauthenticate"))


def test_an_account_without_a_password_sets_up_a_second_factor_once_confirmed_with_its_forge(
    stale_forge_owner,
):
    asked = stale_forge_owner.get("/accounts/2fa/totp/activate/")

    back = confirm_with_gitlab(stale_forge_owner, asked)
    page = stale_forge_owner.get(back["Location"])

    assert asked["Location"].startswith(FORGE_PAGE)
    assert back["Location"] == "/accounts/2fa/totp/activate/"
    assert 'id="authenticator_secret"' in page.content.decode()


@pytest.mark.parametrize(
    ("name", "args", "data"),
    [
        ("tokens", [], {"name": "deploy", "scope": "write"}),
        ("domains", [], {"hostname": "dl.acme.example"}),
        ("migration-check-switch", [1], {}),
        ("member-role", [1], {"role": "owner"}),
    ],
)
def test_other_changes_that_redirect_users_ask_again_too(stale, name, args, data):
    """(Asked before the object is looked up: the ids need not exist.)"""
    response = stale.post(reverse(name, args=args), data)

    assert response["Location"].startswith(reverse("account_reauthenticate"))


def test_reading_a_page_does_not_ask(stale, rule):
    assert stale.get(reverse("rule-edit", args=[rule.id])).status_code == 200


def test_the_api_with_a_token_is_not_asked(stale, acme, rule):
    owner = Membership.objects.get(organisation=acme, user__email="stale@example.com").user
    api = api_client(issue_token(acme, owner))

    response = api.patch(f"/api/v1/rules/{rule.id}/", {"outgoing-url": NEW_URL}, format="json")

    assert response.status_code == 200
    rule.refresh_from_db()
    assert rule.config["outgoing-url"] == NEW_URL
    assert ApiToken.objects.filter(organisation=acme).count() == 1
