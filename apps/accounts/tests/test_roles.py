"""One set of role rules, applied the same in the API and the dashboard."""

import pytest
from django.urls import reverse

from apps.accounts import roles
from apps.accounts.models import Membership, Organisation, User
from apps.packages import services
from scarf.testing import sign_in

TABLE = [
    (roles.OWNER, {roles.READ, roles.MANAGE, roles.OWN}),
    (roles.ADMIN, {roles.READ, roles.MANAGE}),
    (roles.MEMBER, {roles.READ}),
    (None, set()),
]


@pytest.mark.parametrize(("role", "granted"), TABLE)
def test_each_role_holds_exactly_its_permissions(role, granted):
    assert {p for p in (roles.READ, roles.MANAGE, roles.OWN) if roles.allows(role, p)} == granted


def test_the_weakest_role_wins():
    assert roles.weakest(roles.OWNER, roles.MEMBER, roles.ADMIN) == roles.MEMBER
    assert roles.weakest(roles.ADMIN, roles.OWNER) == roles.ADMIN


@pytest.fixture
def acme(db):
    owner = User.objects.create_user("ada@example.com", "correct horse battery")
    organisation = Organisation.create_for(owner, "Acme")
    services.claim_domain(organisation, services.SYSTEM, "get.acme.dev")
    return organisation


def signed_in_as(client, acme, role):
    user = User.objects.create_user(f"{role}@example.com", "correct horse battery")
    Membership.objects.create(user=user, organisation=acme, role=role)
    sign_in(client, user)
    return client


@pytest.mark.parametrize(
    ("role", "status"), [(roles.MEMBER, 403), (roles.ADMIN, 302), (roles.OWNER, 302)]
)
def test_the_dashboards_verify_button_needs_the_manage_permission(client, acme, role, status):
    domain = acme.domains.get(hostname="get.acme.dev")
    signed_in_as(client, acme, role)

    assert client.post(reverse("verify-domain", args=[domain.id])).status_code == status


@pytest.mark.parametrize(
    ("role", "status"), [(roles.MEMBER, 403), (roles.ADMIN, 200), (roles.OWNER, 200)]
)
def test_the_apis_verify_action_needs_the_same_permission(client, acme, role, status):
    domain = acme.domains.get(hostname="get.acme.dev")
    signed_in_as(client, acme, role)

    assert client.post(f"/api/v1/domains/{domain.id}/verify/").status_code == status


def test_the_dashboard_shows_the_record_to_create_and_a_verify_button(client, acme):
    signed_in_as(client, acme, roles.ADMIN)

    page = client.get("/").content.decode()

    assert "_gateway-challenge.get.acme.dev" in page
    assert reverse("verify-domain", args=[acme.domains.get(hostname="get.acme.dev").id]) in page
