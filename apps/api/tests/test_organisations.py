"""Organisations through the API."""

from apps.accounts.models import Membership, Organisation

from .conftest import join, make_user
from .test_members_and_invitations import signed_in


def test_a_person_sees_every_organisation_they_belong_to(owner_session, ada):
    Organisation.create_for(ada, "Side Project")

    listed = owner_session.get("/api/v1/organisations/").json()["results"]

    assert [o["slug"] for o in listed] == ["acme", "side-project"]
    assert listed[0]["default_domain"] == "acme.gateway.localhost"


def test_a_token_sees_only_its_organisation(api, ada):
    Organisation.create_for(ada, "Side Project")

    assert [o["slug"] for o in api.get("/api/v1/organisations/").json()["results"]] == ["acme"]


def test_a_person_creates_an_organisation_they_own(owner_session, ada):
    response = owner_session.post("/api/v1/organisations/", {"name": "New Co"}, format="json")

    assert response.status_code == 201
    new = Organisation.objects.get(slug="new-co")
    assert Membership.objects.get(organisation=new, user=ada).role == "owner"
    assert new.domains.get().hostname == "new-co.gateway.localhost"


def test_only_an_owner_renames_or_deletes_an_organisation(owner_session, acme, api):
    admin = signed_in(join(acme, "grace@example.com", "admin"))

    assert (
        admin.patch(f"/api/v1/organisations/{acme.id}/", {"name": "X"}, format="json").status_code
        == 403
    )
    assert api.delete(f"/api/v1/organisations/{acme.id}/").status_code == 403
    renamed = owner_session.patch(
        f"/api/v1/organisations/{acme.id}/", {"name": "Acme Ltd"}, format="json"
    )
    assert renamed.json()["name"] == "Acme Ltd"
    assert owner_session.delete(f"/api/v1/organisations/{acme.id}/").status_code == 204
    assert not Organisation.objects.filter(id=acme.id).exists()


def test_a_person_without_an_organisation_sees_an_empty_list(db):
    client = signed_in(make_user("new@example.com"))

    assert client.get("/api/v1/organisations/").json()["results"] == []
    assert client.get("/api/v1/packages/").status_code == 403
