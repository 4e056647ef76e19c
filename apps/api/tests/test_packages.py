"""Packages through the API."""

from apps.accounts.models import Organisation
from apps.packages.models import Package, Rule

from .conftest import api_client, issue_token


def test_packages_filter_by_kind(api, acme):
    listed = api.get("/api/v1/packages/", {"kind": "docker"}).json()["results"]

    assert sorted(p["key"] for p in listed) == ["app-image", "tool-images"]


def test_a_package_is_renamed(api, acme):
    package = Package.objects.get(organisation=acme, key="cli")

    response = api.patch(f"/api/v1/packages/{package.id}/", {"name": "Acme CLI"}, format="json")

    assert response.json()["name"] == "Acme CLI"
    assert response.json()["key"] == "cli"


def test_its_key_cannot_be_changed_and_nothing_else_changes_with_it(api, acme):
    """The key is in every rule and every URL users download from."""
    package = Package.objects.get(organisation=acme, key="cli")

    response = api.patch(
        f"/api/v1/packages/{package.id}/", {"name": "Acme CLI", "key": "x"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "key", "message": "cannot be changed (a PATCH changes name and public_stats)"}
    ]
    package.refresh_from_db()
    assert (package.key, package.name) == ("cli", "acme-cli")


def test_deleting_a_package_deletes_its_rules(api, acme):
    package = Package.objects.get(organisation=acme, key="acme-tool")

    assert api.delete(f"/api/v1/packages/{package.id}/").status_code == 204

    assert not Rule.objects.filter(package__key="acme-tool").exists()


def test_a_packages_download_count_is_published_through_the_api(api, acme, client):
    package = Package.objects.get(organisation=acme, key="cli")
    assert api.get(f"/api/v1/packages/{package.id}/").json()["public_stats"] is False

    response = api.patch(f"/api/v1/packages/{package.id}/", {"public_stats": True}, format="json")

    assert response.json()["public_stats"] is True
    assert client.get("/stats/acme/cli.svg").status_code == 200


def test_a_change_without_a_field_is_refused(api, acme):
    package = Package.objects.get(organisation=acme, key="cli")

    response = api.patch(f"/api/v1/packages/{package.id}/", {}, format="json")

    assert response.status_code == 400
    assert "give name, public_stats or both" in str(response.json())


def test_another_organisations_token_cannot_publish(acme, ada):
    other = Organisation.create_for(ada, "Other")
    package = Package.objects.get(organisation=acme, key="cli")
    outsider = api_client(issue_token(other, ada))

    response = outsider.patch(
        f"/api/v1/packages/{package.id}/", {"public_stats": True}, format="json"
    )

    assert response.status_code == 404
    assert Package.objects.get(id=package.id).public_stats is False


def test_a_post_without_the_trailing_slash_is_redirected_keeping_its_method(api, acme):
    """A 301 is followed as a GET: the client got the list with a 200 and
    nothing was created."""
    body = {"key": "slashless", "name": "Slashless", "kind": "file"}

    redirect = api.post("/api/v1/packages", body, format="json")
    followed = api.post("/api/v1/packages", body, format="json", follow=True)

    assert (redirect.status_code, redirect["Location"]) == (308, "/api/v1/packages/")
    assert followed.status_code == 201, followed.content
    assert acme.packages.get(key="slashless").name == "Slashless"
