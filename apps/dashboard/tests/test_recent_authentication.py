"""Changes that redirect users need a password (or second factor) check of at
most REAUTH_MINUTES ago; an older session is asked again, and the change goes
through once it answers. The API is unaffected: the token is the credential."""

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, Membership
from apps.api.tests.conftest import api_client, issue_token
from scarf.testing import sign_in

from .conftest import edit_form, make_user

pytestmark = pytest.mark.django_db

NEW_URL = "https://mirror.example/cli/{version}/{file}"


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
