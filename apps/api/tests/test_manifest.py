"""Manifest import and export through the API."""

from apps.packages.models import Domain


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
