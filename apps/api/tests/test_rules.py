"""Rules through the API speak the manifest's field names."""

import pytest

from apps.gateway.engine.tests.test_rules_that_could_never_answer import NEVER_ANSWERING
from apps.packages.models import Revision, Rule

PIXEL = {
    "type": "pixel-v1",
    "domain": "get.acme.test",
    "package-id": "badge",
    "incoming-path": "/badge.png",
}


def test_a_rule_reads_as_its_manifest_form(api, acme):
    rule = Rule.objects.get(domain__organisation=acme, package__key="app-image")

    body = api.get(f"/api/v1/rules/{rule.id}/").json()

    assert body | {"created": None, "updated": None} == {
        "id": rule.id,
        "position": 0,
        "type": "docker-v1",
        "domain": "get.acme.test",
        "package-id": "app-image",
        "repository-name": "acme/app",
        "registry": "ghcr.io",
        "created": None,
        "updated": None,
    }


def test_creating_a_rule_puts_it_last_and_creates_its_package(api, acme):
    response = api.post("/api/v1/rules/", PIXEL, format="json")

    assert response.status_code == 201
    assert response.json()["position"] == 9
    assert acme.packages.get(key="badge").kind == "pixel"


def test_patching_a_backend_changes_only_that_field_and_is_recorded(api, acme):
    rule = Rule.objects.get(domain__organisation=acme, package__key="app-image")

    response = api.patch(f"/api/v1/rules/{rule.id}/", {"registry": "quay.io"}, format="json")

    assert response.status_code == 200
    rule.refresh_from_db()
    assert rule.config == {"repository-name": "acme/app", "registry": "quay.io"}
    revision = Revision.objects.get(action="update", object_id=rule.id)
    assert revision.token is not None


def test_a_null_resets_an_optional_field_to_its_default(api, acme):
    rule = Rule.objects.get(domain__organisation=acme, package__key="readme-pixel")
    api.patch(f"/api/v1/rules/{rule.id}/", {"incoming-path": "/b.png"}, format="json")

    response = api.patch(f"/api/v1/rules/{rule.id}/", {"incoming-path": None}, format="json")

    assert response.json()["incoming-path"] == "/a.png"


def test_rules_filter_by_domain_package_and_type(api, acme):
    def listed(**query):
        return [
            r["package-id" if "package-id" in r else "rule-id"]
            for r in api.get("/api/v1/rules/", query).json()["results"]
        ]

    assert listed(domain="www.acme.test") == ["website"]
    assert listed(package="acme-tool") == ["acme-tool", "acme-tool"]
    assert listed(type="docker-v2") == ["tool-images"]
    assert len(listed()) == 10


def test_deleting_a_rule_removes_it_and_records_it(api, acme):
    rule = Rule.objects.get(domain__organisation=acme, package__key="website")

    assert api.delete(f"/api/v1/rules/{rule.id}/").status_code == 204

    assert not Rule.objects.filter(id=rule.id).exists()
    assert (
        Revision.objects.get(action="delete", object_id=rule.id).before["rule"]["type"]
        == "catch-all-v1"
    )


def test_lists_are_paginated(api, acme):
    page = api.get("/api/v1/rules/", {"limit": 3, "offset": 3}).json()

    assert page["count"] == 10
    assert len(page["results"]) == 3
    assert "offset=6" in page["next"]


def test_past_the_end_previous_leads_to_the_last_page(api, acme):
    page = api.get("/api/v1/rules/", {"limit": 3, "offset": 50}).json()

    assert page["results"] == []
    assert page["next"] is None
    assert "offset=7" in page["previous"]  # rules 8 to 10 of 10


@pytest.mark.parametrize(("rule", "field", "reason"), NEVER_ANSWERING)
def test_a_rule_that_could_never_answer_is_refused_naming_the_field(api, acme, rule, field, reason):
    rules = Rule.objects.count()

    response = api.post("/api/v1/rules/", rule, format="json")

    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["field"] == field
    assert reason in error["message"]
    assert Rule.objects.count() == rules


# Names registries accept that are longer than a package's name (200 characters).
LONG_NAMES = {
    "npm": {"type": "npm-v1", "package-id": "js", "package-name": "n" * 214},
    "docker": {
        "type": "docker-v1",
        "package-id": "img",
        "repository-name": "acme/" + "i" * 250,
        "registry": "ghcr.io",
    },
    "docker pattern": {
        "type": "docker-v2",
        "rule-id": "tools",
        "pattern": "acme/" + "t" * 250 + "-*",
        "registry": "ghcr.io",
    },
}


@pytest.mark.parametrize("rule", LONG_NAMES.values(), ids=LONG_NAMES)
def test_a_name_longer_than_a_package_name_is_saved_whole_and_shown_shortened(
    api, acme, rule, settings
):
    settings.NPM_DEFAULT_REGISTRY_URL = "https://registry.example/"
    created = api.post("/api/v1/rules/", {**rule, "domain": "get.acme.test"}, format="json")
    imported = api.post(
        "/api/v1/manifest/", {"rules": [{**rule, "domain": "new.acme.test"}]}, format="json"
    )

    assert created.status_code == 201, created.content
    assert imported.status_code == 200, imported.content
    rule_id = created.json()["id"]
    assert api.get(f"/api/v1/rules/{rule_id}/").json() == created.json()
    key = rule.get("package-id") or rule["rule-id"]
    name = rule.get("package-name") or rule.get("repository-name") or rule["pattern"]
    assert acme.packages.get(key=key).name == name[:200]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"always_proxy": True}, "always_proxy"),
        ({"registry": "quay.io", "registy": "ghcr.io"}, "registy"),
        ({"type": "docker-v2", "rule-id": "app", "pattern": "acme/app"}, "repository-name"),
    ],
)
def test_a_field_the_rule_type_does_not_have_is_refused_not_dropped(api, acme, change, field):
    rule = Rule.objects.get(domain__organisation=acme, package__key="app-image")
    before = api.get(f"/api/v1/rules/{rule.id}/").json()

    patched = api.patch(f"/api/v1/rules/{rule.id}/", change, format="json")
    created = api.post("/api/v1/rules/", {**before, **change, "package-id": "new"}, format="json")

    assert patched.status_code == 400, patched.content
    assert field in [error["field"] for error in patched.json()["errors"]]
    assert created.status_code == 400, created.content
    assert api.get(f"/api/v1/rules/{rule.id}/").json() == before


NEVER = "this one would never answer"


def test_a_rule_identical_to_one_on_its_domain_is_refused(api, acme):
    """Only the first of two identical rules ever answers."""
    rule = Rule.objects.get(domain__organisation=acme, package__key="app-image")
    same = {**api.get(f"/api/v1/rules/{rule.id}/").json(), "package-id": "app-copy"}

    response = api.post("/api/v1/rules/", same, format="json")

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] is None
    assert error["message"] == f"rule {rule.id} on get.acme.test is the same rule: {NEVER}"
    assert not acme.packages.filter(key="app-copy").exists()
