"""Owners manage members and invitations; invited people join by accepting."""

import pytest
from rest_framework.test import APIClient

from apps.accounts.models import Membership

from .conftest import join, make_user


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def invite(client, email="grace@example.com", role="admin"):
    return client.post("/api/v1/invitations/", {"email": email, "role": role}, format="json")


def test_an_invited_person_joins_with_the_invited_role(owner_session, acme):
    created = invite(owner_session).json()
    grace = make_user("grace@example.com")

    response = signed_in(grace).post(
        "/api/v1/invitations/accept/", {"token": created["token"]}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["slug"] == "acme"
    assert Membership.objects.get(user=grace, organisation=acme).role == "admin"
    assert owner_session.get(f"/api/v1/invitations/{created['id']}/").json()["accepted"]


def test_an_invitation_is_only_for_the_invited_address_and_only_once(owner_session, acme):
    secret = invite(owner_session).json()["token"]
    accept = {"token": secret}

    assert (
        signed_in(make_user("eve@example.com"))
        .post("/api/v1/invitations/accept/", accept, format="json")
        .status_code
        == 404
    )
    grace = signed_in(make_user("grace@example.com"))
    assert grace.post("/api/v1/invitations/accept/", accept, format="json").status_code == 200
    assert grace.post("/api/v1/invitations/accept/", accept, format="json").status_code == 404


def test_a_token_cannot_accept_an_invitation(owner_session, api):
    secret = invite(owner_session).json()["token"]

    assert (
        api.post("/api/v1/invitations/accept/", {"token": secret}, format="json").status_code == 403
    )


def test_the_dashboard_accepts_an_invitation(owner_session, acme, client):
    secret = invite(owner_session).json()["token"]
    grace = make_user("grace@example.com")
    client.force_login(grace)

    assert client.get(f"/accounts/invitations/{secret}/").status_code == 200
    response = client.post(f"/accounts/invitations/{secret}/")

    assert response.status_code == 302
    assert Membership.objects.get(user=grace, organisation=acme).role == "admin"


@pytest.mark.parametrize("role", [Membership.ADMIN, Membership.MEMBER])
def test_only_owners_manage_members_and_invitations(acme, role):
    client = signed_in(join(acme, "grace@example.com", role))
    ada = Membership.objects.get(organisation=acme, role="owner")

    assert client.get("/api/v1/members/").status_code == 200
    assert (
        client.patch(f"/api/v1/members/{ada.id}/", {"role": "member"}, format="json").status_code
        == 403
    )
    assert client.delete(f"/api/v1/members/{ada.id}/").status_code == 403
    assert invite(client).status_code == 403


def test_an_owner_changes_roles_and_removes_members(owner_session, acme):
    grace = Membership.objects.get(user=join(acme, "grace@example.com", "member"))

    response = owner_session.patch(f"/api/v1/members/{grace.id}/", {"role": "admin"}, format="json")
    assert response.json()["role"] == "admin"
    assert owner_session.delete(f"/api/v1/members/{grace.id}/").status_code == 204

    assert not Membership.objects.filter(id=grace.id).exists()


def test_the_last_owner_cannot_leave_or_be_demoted(owner_session, acme):
    ada = Membership.objects.get(organisation=acme, role="owner")

    demote = owner_session.patch(f"/api/v1/members/{ada.id}/", {"role": "admin"}, format="json")
    remove = owner_session.delete(f"/api/v1/members/{ada.id}/")

    assert (demote.status_code, remove.status_code) == (400, 400)
    assert demote.json()["errors"][0]["field"] == "role"
    assert Membership.objects.get(id=ada.id).role == "owner"


def test_inviting_the_same_address_twice_is_refused(owner_session, acme):
    invite(owner_session)

    response = invite(owner_session, email="Grace@example.com")

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == "email"
    assert "is invited already" in error["message"]
    assert acme.invitations.count() == 1


def test_inviting_a_member_is_refused(owner_session, acme):
    response = invite(owner_session, email="ADA@example.com")

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == "ADA@example.com is already a member (owner)"
    assert not acme.invitations.exists()
