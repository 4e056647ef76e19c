"""Owners and admins create and revoke tokens; tokens cannot mint tokens."""

from datetime import timedelta

from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership

from .conftest import api_client, join


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def create(client, **body):
    return client.post("/api/v1/tokens/", {"name": "ci", "scope": "read", **body}, format="json")


def test_a_created_token_works_with_its_scope(owner_session):
    created = create(owner_session).json()

    client = api_client(created["token"])

    assert client.get("/api/v1/domains/").status_code == 200
    assert (
        client.post("/api/v1/domains/", {"hostname": "x.acme.dev"}, format="json").status_code
        == 403
    )
    assert created["scope"] == "read"
    assert created["created_by"] == "ada@example.com"


def test_an_admin_creates_tokens_and_a_member_cannot(acme):
    admin = join(acme, "grace@example.com", Membership.ADMIN)
    member = join(acme, "linus@example.com", Membership.MEMBER)

    assert create(signed_in(admin)).status_code == 201
    assert create(signed_in(member)).status_code == 403
    assert ApiToken.objects.filter(organisation=acme).count() == 1


def test_a_token_cannot_create_a_token(api, acme):
    response = create(api, scope="write")

    assert response.status_code == 403
    assert ApiToken.objects.filter(organisation=acme).count() == 1


def test_an_expiry_in_the_past_is_refused(owner_session):
    response = create(owner_session, expires=(timezone.now() - timedelta(days=1)).isoformat())

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "expires"


def test_deleting_a_token_revokes_it_and_keeps_it_listed(owner_session):
    created = create(owner_session).json()

    assert owner_session.delete(f"/api/v1/tokens/{created['id']}/").status_code == 204

    listed = owner_session.get("/api/v1/tokens/").json()["results"]
    assert [t["id"] for t in listed] == [created["id"]]
    assert listed[0]["revoked"] is not None
    assert api_client(created["token"]).get("/api/v1/domains/").status_code == 401
