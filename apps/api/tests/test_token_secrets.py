"""A token's secret is shown once and never stored or logged in clear."""

import logging

from django.db import connection

from apps.accounts.models import ApiToken

from .conftest import api_client


def every_stored_value(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
        return repr(cursor.fetchall())


def test_a_new_token_is_shown_once_and_stored_only_as_a_hash(owner_session, settings, caplog):
    settings.DEBUG = True  # logs every SQL statement, parameters included
    with caplog.at_level(logging.DEBUG):
        created = owner_session.post(
            "/api/v1/tokens/", {"name": "ci", "scope": "write"}, format="json"
        ).json()
        secret = created["token"]
        client = api_client(secret)
        assert (
            client.post(
                "/api/v1/packages/", {"key": "k", "name": "n", "kind": "file"}, format="json"
            ).status_code
            == 201
        )
        ApiToken.objects.get(id=created["id"]).revoke()
        assert client.get("/api/v1/packages/").status_code == 401

    assert secret.startswith("gw_")
    assert len(secret) > 40
    assert secret not in caplog.text
    for table in ("accounts_apitoken", "packages_revision"):
        assert secret not in every_stored_value(table)
    assert ApiToken.objects.get(id=created["id"]).prefix == secret[:11]
    shown_again = owner_session.get(f"/api/v1/tokens/{created['id']}/").json()
    assert "token" not in shown_again
    assert secret not in repr(owner_session.get("/api/v1/tokens/").json())


def test_an_invitation_secret_is_stored_only_as_a_hash(owner_session):
    created = owner_session.post(
        "/api/v1/invitations/", {"email": "grace@example.com", "role": "member"}, format="json"
    ).json()

    assert created["token"] not in every_stored_value("accounts_invitation")
    assert created["token"] in created["accept_url"]
