"""Bad input is a 400 naming the field, and nothing of it is saved."""

import pytest

from apps.packages.manifests import export_manifest
from apps.packages.models import Rule

FILE = {
    "type": "file-v1",
    "domain": "get.acme.test",
    "package-id": "new-file",
    "incoming-path": "/new",
    "outgoing-url": "https://files.example/new",
}
REGEX = {**FILE, "type": "file-v2", "incoming-path": "^/new/(?<name>[a-z]+)$"}
NPM = {"type": "npm-v1", "domain": "get.acme.test", "package-id": "js", "package-name": "js"}
INDEX = {
    "type": "python-index-v1",
    "domain": "get.acme.test",
    "package-id": "py",
    "package-name": "py",
}

CREATES = [
    ("invalid hostname", "domains/", {"hostname": "not a host"}, "hostname"),
    ("hostname with a leading hyphen", "domains/", {"hostname": "-bad.example"}, "hostname"),
    ("single-label hostname", "domains/", {"hostname": "intranet"}, "hostname"),
    ("the dashboard's host", "domains/", {"hostname": "localhost"}, "hostname"),
    ("duplicate domain", "domains/", {"hostname": "get.acme.test"}, "hostname"),
    ("duplicate in another case", "domains/", {"hostname": "GET.acme.test"}, "hostname"),
    ("another organisation's default", "domains/", {"hostname": "x.gateway.localhost"}, "hostname"),
    ("unknown rule type", "rules/", {**FILE, "type": "file-v9"}, "type"),
    ("variable host", "rules/", {**FILE, "outgoing-url": "https://{host}/x"}, "outgoing-url"),
    (
        "variable scheme",
        "rules/",
        {**FILE, "outgoing-url": "{s}://files.example/x"},
        "outgoing-url",
    ),
    ("ftp target", "rules/", {**FILE, "outgoing-url": "ftp://files.example/x"}, "outgoing-url"),
    ("ftp registry", "rules/", {**NPM, "registry": "ftp://npm.example"}, "registry"),
    (
        "javascript index",
        "rules/",
        {**INDEX, "backend-simple-index-url": "javascript:alert(1)"},
        "backend-simple-index-url",
    ),
    (
        "backreference RE2 rejects",
        "rules/",
        {**REGEX, "incoming-path": r"^/(a)\1$"},
        "incoming-path",
    ),
    (
        "missing field",
        "rules/",
        {k: v for k, v in FILE.items() if k != "incoming-path"},
        "incoming-path",
    ),
    ("domain not claimed", "rules/", {**FILE, "domain": "nowhere.example"}, "domain"),
    ("negative position", "rules/", {**FILE, "position": -1}, "position"),
    ("a list instead of a rule", "rules/", [FILE], None),
    ("unknown package kind", "packages/", {"key": "k", "name": "n", "kind": "rpm"}, "kind"),
    ("duplicate package key", "packages/", {"key": "cli", "name": "n", "kind": "file"}, "key"),
    ("no rules", "manifest/", {"rule": []}, "rules"),
    (
        "manifest with an unknown type",
        "manifest/",
        {"rules": [FILE, {**FILE, "type": "nope-v1"}]},
        "rules[1].type",
    ),
    (
        "manifest with a variable host",
        "manifest/",
        {"rules": [{**FILE, "outgoing-url": "http://{h}.example/x"}]},
        "rules[0].outgoing-url",
    ),
    (
        "manifest with an invalid hostname",
        "manifest/",
        {"rules": [FILE, {**FILE, "domain": "bad_host!.example"}]},
        "rules[1].domain",
    ),
    ("string with NUL", "packages/", {"key": "k\x00", "name": "n", "kind": "file"}, None),
]


def state(acme) -> dict:
    return {
        "manifest": export_manifest(acme),
        "domains": list(acme.domains.values_list("hostname", "verified")),
        "packages": list(acme.packages.values()),
        "revisions": acme.revisions.count(),
    }


def assert_refused(response, field):
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert errors
    assert all(error["message"] for error in errors)
    assert field in [error["field"] for error in errors]


@pytest.mark.parametrize(
    ("path", "body", "field"), [c[1:] for c in CREATES], ids=[c[0] for c in CREATES]
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_saved(api, acme, path, body, field):
    before = state(acme)

    assert_refused(api.post(f"/api/v1/{path}", body, format="json"), field)

    assert state(acme) == before


PATCHES = [
    ("install-script", {"outgoing-url": "https://{host}/install.sh"}, "outgoing-url"),
    ("install-script", {"outgoing-url": "gopher://example.com/install.sh"}, "outgoing-url"),
    ("install-script", {"incoming-path": None}, "incoming-path"),
    ("install-script", {"type": "unknown-v1"}, "type"),
    ("install-script", {"domain": "not-ours.example"}, "domain"),
    ("install-script", {"position": "first"}, "position"),
    ("app-image", {"registry": "ftp://registry.example"}, "registry"),
    ("docs", {"incoming-path": "^/docs/(?=lookahead)$"}, "incoming-path"),
    ("website", {"redirect-target-domain": "https://{x}"}, "redirect-target-domain"),
]


@pytest.mark.parametrize(("package", "changes", "field"), PATCHES)
def test_a_bad_patch_of_a_rule_is_refused_and_the_rule_stays_as_it_was(
    api, acme, package, changes, field
):
    rule = Rule.objects.get(domain__organisation=acme, package__key=package)
    before = state(acme)

    assert_refused(api.patch(f"/api/v1/rules/{rule.id}/", changes, format="json"), field)

    assert state(acme) == before


@pytest.mark.parametrize(
    ("path", "name", "value"),
    [
        ("packages/", "kind", "dockr"),
        ("rules/", "type", "docker-v3"),
        ("revisions/", "object_type", "rules"),
    ],
)
def test_a_filter_with_a_value_outside_its_choices_is_refused_naming_it(api, path, name, value):
    """Not an empty list, which reads as "there are none"."""
    response = api.get(f"/api/v1/{path}", {name: value})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == name
    assert error["message"].startswith(f"'{value}' is not one of ")
