"""Packages through the API."""

from apps.packages.models import Package, Rule


def test_packages_filter_by_kind(api, acme):
    listed = api.get("/api/v1/packages/", {"kind": "docker"}).json()["results"]

    assert sorted(p["key"] for p in listed) == ["app-image", "tool-images"]


def test_a_package_is_renamed_but_keeps_its_key(api, acme):
    package = Package.objects.get(organisation=acme, key="cli")

    response = api.patch(
        f"/api/v1/packages/{package.id}/", {"name": "Acme CLI", "key": "x"}, format="json"
    )

    assert response.json()["name"] == "Acme CLI"
    assert response.json()["key"] == "cli"


def test_deleting_a_package_deletes_its_rules(api, acme):
    package = Package.objects.get(organisation=acme, key="acme-tool")

    assert api.delete(f"/api/v1/packages/{package.id}/").status_code == 204

    assert not Rule.objects.filter(package__key="acme-tool").exists()
