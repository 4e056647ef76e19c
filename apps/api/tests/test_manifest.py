"""Manifest import and export through the API."""

from apps.packages.models import Domain, Revision, Rule


def test_export_is_the_organisations_manifest(api, acme):
    exported = api.get("/api/v1/manifest/").json()

    assert len(exported["rules"]) == 10
    assert exported["rules"][0]["type"] == "docker-v1"


def test_an_import_through_the_api_claims_new_domains_without_verifying_them(api, acme):
    rule = {"type": "pixel-v1", "domain": "px.acme.dev", "package-id": "px"}

    response = api.post("/api/v1/manifest/", {"rules": [rule]}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["domains"], body["rules"]) == (["px.acme.dev"], 1)
    assert acme.revisions.get(id=body["revision"]).action == "import"
    assert not Domain.objects.get(hostname="px.acme.dev").verified


def test_a_read_token_cannot_import(read_api, acme):
    rule = {"type": "pixel-v1", "domain": "px.acme.dev", "package-id": "px"}

    assert read_api.post("/api/v1/manifest/", {"rules": [rule]}, format="json").status_code == 403
    assert not Domain.objects.filter(hostname="px.acme.dev").exists()


def test_import_export_import_is_a_no_op(api, acme):
    ids = sorted(Rule.objects.filter(domain__organisation=acme).values_list("id", flat=True))
    revisions = Revision.objects.count()
    exported = api.get("/api/v1/manifest/").json()

    response = api.post("/api/v1/manifest/", exported, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["changed"], body["deleted"]) == (0, 0, 0)
    assert body["revision"] is None
    assert Revision.objects.count() == revisions
    assert (
        sorted(Rule.objects.filter(domain__organisation=acme).values_list("id", flat=True)) == ids
    )
    assert api.get(f"/api/v1/rules/{ids[0]}/").status_code == 200
    assert api.get("/api/v1/manifest/").json() == exported


def test_an_import_switching_a_backend_keeps_the_rules_id_and_records_one_revision(api, acme):
    exported = api.get("/api/v1/manifest/").json()
    docker = next(rule for rule in exported["rules"] if rule["type"] == "docker-v1")
    rule_id = Rule.objects.get(domain__organisation=acme, package__key=docker["package-id"]).id
    docker["registry"] = "quay.io"

    body = api.post("/api/v1/manifest/", exported, format="json").json()

    assert (body["created"], body["changed"], body["deleted"]) == (0, 1, 0)
    assert Rule.objects.get(id=rule_id).config["registry"] == "quay.io"
    revision = acme.revisions.get(id=body["revision"])
    (before,) = [
        r for rules in revision.before["domains"].values() for r in rules if r["id"] == rule_id
    ]
    assert before["rule"]["registry"] == "ghcr.io"
    assert acme.revisions.filter(action="import").count() == 1
