"""A rule that leaves its backend to the deployment's default is accepted only
when the deployment has one, and the form says which it is."""

import pytest
from django.urls import reverse

from apps.packages.models import Rule

NPM = {"domain": "acme.gateway.localhost", "package_id": "greet", "package_name": "acme-greet"}
NEW_NPM = reverse("package-new") + "?type=npm-v1"


def test_without_a_default_registry_the_form_requires_one(signed_in, acme, settings):
    settings.NPM_DEFAULT_REGISTRY_URL = ""
    client = signed_in("admin")

    page = client.get(NEW_NPM).content.decode()
    response = client.post(NEW_NPM, NPM)

    assert "Required: this gateway has no default." in page
    assert "registry.npmjs.org" not in page
    assert response.context["form"].errors["registry"]
    assert not Rule.objects.filter(package__key="greet").exists()


def test_with_a_default_registry_the_form_names_it_and_saves(signed_in, acme, settings):
    settings.NPM_DEFAULT_REGISTRY_URL = "https://registry.example.test/"
    client = signed_in("admin")

    page = client.get(NEW_NPM).content.decode()
    response = client.post(NEW_NPM, NPM, follow=True)

    assert "this gateway&#x27;s default, https://registry.example.test/" in page
    assert Rule.objects.filter(package__key="greet").exists()
    assert "it serves downloads now" in response.content.decode()


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"type": "npm-v1", "package-name": "acme-greet"}, "registry"),
        ({"type": "python-index-v1", "package-name": "acme"}, "backend-simple-index-url"),
    ],
)
def test_an_import_and_every_save_refuse_a_rule_without_a_backend_to_use(
    acme, settings, rule, field
):
    from apps.gateway.engine.manifest import ManifestError
    from apps.packages.manifests import import_manifest
    from apps.packages.validation import validate_rule

    settings.NPM_DEFAULT_REGISTRY_URL = settings.PYTHON_DEFAULT_INDEX_URL = ""
    rule = {**rule, "domain": "acme.gateway.localhost", "package-id": "p"}

    with pytest.raises(ManifestError, match=rf"rules\[0\]\.{field}: {field} is required"):
        import_manifest(acme, {"rules": [rule]})
    with pytest.raises(ValueError, match="this gateway has no default"):
        validate_rule(rule)
