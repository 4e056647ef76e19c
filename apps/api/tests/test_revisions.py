"""Revisions through the API: list, show, roll back."""

from apps.packages.models import Revision, Rule

OLD = "https://raw.example.com/acme/install.sh"


def switch(api, acme, url):
    rule = Rule.objects.get(domain__organisation=acme, package__key="install-script")
    api.patch(f"/api/v1/rules/{rule.id}/", {"outgoing-url": url}, format="json")
    return rule


def test_a_change_is_listed_newest_first_with_who_and_what(api, acme):
    rule = switch(api, acme, "https://mirror.example/i.sh")

    latest = api.get("/api/v1/revisions/").json()["results"][0]

    assert (latest["action"], latest["object_type"], latest["object_id"]) == (
        "update",
        "rule",
        rule.id,
    )
    assert latest["actor"].startswith("token write token (gw_")
    assert latest["before"]["rule"]["outgoing-url"] == OLD


def test_revisions_filter_by_object(api, acme):
    rule = switch(api, acme, "https://mirror.example/i.sh")
    api.post("/api/v1/packages/", {"key": "k", "name": "n", "kind": "file"}, format="json")

    listed = api.get("/api/v1/revisions/", {"object_type": "rule", "object_id": rule.id}).json()

    assert [r["object_id"] for r in listed["results"]] == [rule.id]


def test_rolling_back_through_the_api_restores_the_backend(api, acme):
    rule = switch(api, acme, "https://mirror.example/i.sh")
    revision = api.get("/api/v1/revisions/").json()["results"][0]

    response = api.post(f"/api/v1/revisions/{revision['id']}/rollback/")

    assert response.status_code == 201
    assert response.json()["reverts"] == revision["id"]
    assert api.get(f"/api/v1/rules/{rule.id}/").json()["outgoing-url"] == OLD


def test_a_read_token_cannot_roll_back(api, read_api, acme):
    switch(api, acme, "https://mirror.example/i.sh")
    revision = api.get("/api/v1/revisions/").json()["results"][0]

    assert read_api.post(f"/api/v1/revisions/{revision['id']}/rollback/").status_code == 403


def test_revisions_filter_by_package(api, acme):
    rule = switch(api, acme, "https://mirror.example/i.sh")
    api.post("/api/v1/packages/", {"key": "k", "name": "n", "kind": "file"}, format="json")

    listed = api.get("/api/v1/revisions/", {"package": "install-script"}).json()["results"]

    assert [(r["object_type"], r["object_id"]) for r in listed] == [("rule", rule.id)]


def test_a_patch_that_changes_nothing_records_no_revision(api, acme):
    rule = Rule.objects.get(domain__organisation=acme, package__key="app-image")
    package = rule.package
    revisions = Revision.objects.filter(organisation=acme).count()

    same_rule = api.patch(f"/api/v1/rules/{rule.id}/", {"registry": "ghcr.io"}, format="json")
    nothing = api.patch(f"/api/v1/rules/{rule.id}/", {}, format="json")
    same_name = api.patch(f"/api/v1/packages/{package.id}/", {"name": package.name}, format="json")

    assert [r.status_code for r in (same_rule, nothing, same_name)] == [200, 200, 200]
    assert Revision.objects.filter(organisation=acme).count() == revisions
