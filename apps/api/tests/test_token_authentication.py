"""Bearer tokens: who they act as, and when they stop working."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.accounts.models import ApiToken, Membership
from apps.packages.models import Package

from .conftest import api_client, issue_token, join

NEW_PACKAGE = {"key": "new", "name": "New", "kind": "file"}


def create_package(client):
    return client.post("/api/v1/packages/", NEW_PACKAGE, format="json")


def test_a_write_token_changes_its_own_organisation(api, acme):
    response = create_package(api)

    assert response.status_code == 201
    assert Package.objects.get(key="new").organisation == acme


def test_a_read_token_reads_but_cannot_write(read_api):
    assert read_api.get("/api/v1/packages/").status_code == 200

    response = create_package(read_api)

    assert response.status_code == 403
    assert response.json()["errors"][0]["field"] is None
    assert not Package.objects.filter(key="new").exists()


def test_a_members_write_token_cannot_write(acme):
    member = join(acme, "grace@example.com", Membership.MEMBER)
    client = api_client(issue_token(acme, member, scope="write"))

    assert create_package(client).status_code == 403
    assert client.get("/api/v1/packages/").status_code == 200


def test_a_token_acts_at_most_with_its_creators_current_role(acme):
    admin = join(acme, "grace@example.com", Membership.ADMIN)
    client = api_client(issue_token(acme, admin))
    assert create_package(client).status_code == 201

    Membership.objects.filter(user=admin).update(role=Membership.MEMBER)

    assert (
        client.delete(f"/api/v1/packages/{Package.objects.get(key='new').id}/").status_code == 403
    )


def test_a_revoked_token_gets_401(api, acme):
    token = ApiToken.objects.get(organisation=acme, scope="write")
    token.revoke()

    response = api.get("/api/v1/packages/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_expired_token_gets_401(acme, ada):
    client = api_client(issue_token(acme, ada, expires=timezone.now() - timedelta(seconds=1)))

    assert client.get("/api/v1/packages/").status_code == 401


def test_a_token_that_has_not_expired_yet_works(acme, ada):
    client = api_client(issue_token(acme, ada, expires=timezone.now() + timedelta(hours=1)))

    assert client.get("/api/v1/packages/").status_code == 200


@pytest.mark.parametrize("header", ["Bearer gw_not-a-real-token", "Bearer ", "Bearer"])
def test_an_unknown_token_gets_401(acme, header):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=header)

    assert client.get("/api/v1/packages/").status_code == 401


def test_a_request_without_credentials_gets_401(acme):
    response = api_client().get("/api/v1/packages/")

    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"field": None, "message": "Authentication credentials were not provided."}]
    }


def test_a_token_stops_working_when_its_creator_leaves(acme):
    admin = join(acme, "grace@example.com", Membership.ADMIN)
    client = api_client(issue_token(acme, admin))

    Membership.objects.filter(user=admin).delete()

    assert client.get("/api/v1/packages/").status_code == 401


def test_using_a_token_records_when_it_was_last_used(api, acme):
    token = ApiToken.objects.get(organisation=acme, scope="write")
    assert token.last_used is None

    api.get("/api/v1/packages/")

    token.refresh_from_db()
    assert timezone.now() - token.last_used < timedelta(seconds=30)
