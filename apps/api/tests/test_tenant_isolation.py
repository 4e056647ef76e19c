"""Organisation A can neither see nor change anything of organisation B.

Walks every operation of the API's schema, with A's write token and with A's
owner signed in, aiming each at B's objects (by id, by host name, by key,
by invitation secret), then checks B's data is exactly as before. The
coverage test fails when an operation is added without a case here.
"""

import re

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, Invitation, Membership, Organisation
from apps.analytics.tests.conftest import ingest, make_event
from apps.migration_checks.models import MigrationCheck
from apps.packages import services
from apps.packages.manifests import export_manifest
from apps.packages.models import Backend, Domain, Package, Rule
from apps.webhooks.events import TEST, emit
from apps.webhooks.models import Delivery, Webhook

from .conftest import api_client, issue_token, join, load_manifest, make_user

GLOBEX_MANIFEST = {
    "rules": [
        {
            "type": "file-v1",
            "domain": "get.globex.test",
            "package-id": "globex-cli",
            "incoming-path": "/cli",
            "outgoing-url": "https://globex.example/cli",
        }
    ]
}
FORBIDDEN = {403, 404}
# What only B's own responses could contain (its host names may be named in
# an error saying they belong to another organisation).
B_MARKERS = ("Globex", "bob@globex.test", "carol@globex.test", "globex ci", "dora@example.com")


@pytest.fixture
def globex(db):
    """Organisation B, with one object of every type."""
    bob = make_user("bob@globex.test")
    organisation = Organisation.create_for(bob, "Globex")
    services.claim_domain(organisation, services.Actor(bob), "get.globex.test")
    Domain.objects.filter(hostname="get.globex.test").update(verified=True)
    services.import_manifest(organisation, services.Actor(bob), GLOBEX_MANIFEST)
    services.add_backend(
        Rule.objects.get(domain__organisation=organisation),
        services.Actor(bob),
        {"outgoing-url": "https://mirror.globex.example/cli"},
    )
    join(organisation, "carol@globex.test", Membership.MEMBER)
    ApiToken.issue(organisation, bob, name="globex ci", scope="write")
    _, secret = Invitation.issue(organisation, bob, "dora@example.com", Membership.ADMIN)
    organisation.invitation_secret = secret
    webhook = Webhook.objects.create(
        organisation=organisation, url="https://hooks.globex.example/x", description="Globex alerts"
    )
    emit(organisation, TEST, {"from": "Globex"}, webhooks=[webhook])
    rule = Rule.objects.get(domain__organisation=organisation)
    MigrationCheck.objects.create(
        organisation=organisation, rule=rule, old={}, new={}, pair="0" * 64, actor="Globex"
    )
    return organisation


def state_of(organisation: Organisation) -> dict:
    """Everything B owns, as comparable data."""
    return {
        "organisation": Organisation.objects.filter(id=organisation.id).values().first(),
        "manifest": export_manifest(organisation),
        "domains": list(organisation.domains.values()),
        "packages": list(organisation.packages.values()),
        "rules": list(Rule.objects.filter(domain__organisation=organisation).values()),
        "backends": list(Backend.objects.filter(rule__domain__organisation=organisation).values()),
        "members": list(organisation.memberships.values()),
        "tokens": list(organisation.api_tokens.values()),
        "invitations": list(organisation.invitations.values()),
        "revisions": list(organisation.revisions.values()),
        "webhooks": list(organisation.webhooks.values()),
        "deliveries": list(Delivery.objects.filter(webhook__organisation=organisation).values()),
        "migration_checks": list(organisation.migration_checks.values()),
    }


def ids_of(organisation: Organisation) -> dict[str, int]:
    """The id of one of B's objects for each path segment of the API."""
    return {
        "organisations": organisation.id,
        "members": organisation.memberships.filter(role=Membership.MEMBER).get().id,
        "invitations": organisation.invitations.get().id,
        "tokens": organisation.api_tokens.get().id,
        "domains": organisation.domains.get(hostname="get.globex.test").id,
        "packages": organisation.packages.get().id,
        "rules": Rule.objects.get(domain__organisation=organisation).id,
        "backends": Backend.objects.get(rule__domain__organisation=organisation).id,
        "revisions": organisation.revisions.first().id,
        "webhooks": organisation.webhooks.get().id,
        "webhook-deliveries": Delivery.objects.get(webhook__organisation=organisation).id,
        "migration-checks": organisation.migration_checks.get().id,
    }


def cases(globex: Organisation) -> list[tuple[str, str, object]]:
    """(method, path, body) aimed at B: each must answer 403 or 404."""
    ids = ids_of(globex)
    by_id = [
        ("get", "{kind}/{id}/", None),
        ("patch", "organisations/{id}/", {"name": "Pwned"}),
        ("patch", "members/{id}/", {"role": "owner"}),
        ("patch", "packages/{id}/", {"name": "Pwned"}),
        ("patch", "domains/{id}/", {"https_only": True}),
        ("patch", "rules/{id}/", {"outgoing-url": "https://evil.example/cli"}),
        ("patch", "backends/{id}/", {"config": {"outgoing-url": "https://evil.example/cli"}}),
        ("get", "rules/{id}/backends/", None),
        ("delete", "{kind}/{id}/", None),
        ("post", "domains/{id}/verify/", None),
        ("post", "revisions/{id}/rollback/", None),
        ("patch", "webhooks/{id}/", {"url": "https://evil.example/x"}),
        ("post", "webhooks/{id}/rotate-secret/", None),
        ("post", "webhooks/{id}/test/", None),
        ("post", "migration-checks/{id}/switch/", {}),
    ]
    walked = []
    for method, template, body in by_id:
        kinds = [template.split("/")[0]] if "{kind}" not in template else list(ids)
        for kind in kinds:
            if method == "delete" and kind in (
                "revisions",
                "migration-checks",
                "webhook-deliveries",
            ):
                continue
            path = template.format(kind=kind, id=ids[kind])
            walked.append((method, path, body))
    rule = {**GLOBEX_MANIFEST["rules"][0], "outgoing-url": "https://evil.example/x"}
    walked += [
        ("post", "manifest/", {"rules": [rule]}),
        ("post", "rules/", rule),
        (
            "post",
            "backends/",
            {"rule": ids["rules"], "config": {"outgoing-url": "https://evil.example/x"}},
        ),
        ("post", "resolve/", {"host": "get.globex.test", "path": "/cli"}),
        ("post", "invitations/accept/", {"token": globex.invitation_secret}),
        (
            "post",
            "migration-checks/",
            {"rule": ids["rules"], "new": {"outgoing-url": "https://x.example/"}},
        ),
    ]
    return walked


# Operations that only ever act on the caller's own organisation: listing (B's
# objects must not appear) and creating (the new object is A's).
OWN_ONLY = {
    ("get", "backends/"),
    ("get", "domains/"),
    ("get", "invitations/"),
    ("get", "manifest/"),
    ("get", "members/"),
    ("get", "organisations/"),
    ("get", "packages/"),
    ("get", "revisions/"),
    ("get", "rules/"),
    ("get", "tokens/"),
    ("get", "migration-checks/"),
    ("get", "webhooks/"),
    ("get", "webhook-deliveries/"),
    ("post", "webhooks/"),
    ("post", "domains/"),
    ("post", "invitations/"),
    ("post", "organisations/"),
    ("post", "packages/"),
    ("post", "tokens/"),
}
# Analytics read the caller's own numbers only, whatever package they name
# (test_analytics_count_only_the_callers_own_events_whatever_package_is_named).
ANALYTICS = {
    ("get", "analytics/time-series/"),
    ("get", "analytics/top/"),
    ("get", "analytics/totals/"),
    ("get", "analytics/unique-sources/"),
    ("get", "analytics/export.csv"),
    ("get", "analytics/export.ndjson"),
}
CREATES = {
    "domains/": {"hostname": "get.acme.dev"},
    "invitations/": {"email": "dora@example.com", "role": "member"},
    "organisations/": {"name": "Acme Two"},
    "packages/": {"key": "globex-cli", "name": "Mine", "kind": "file"},
    "tokens/": {"name": "mine", "scope": "read"},
    "webhooks/": {"url": "https://93.184.215.14/hook", "events": ["migration_check.finished"]},
}


@pytest.fixture(params=["token", "session"])
def a_client(request, acme, ada):
    if request.param == "token":
        return api_client(issue_token(acme, ada))
    client = api_client()
    client.force_login(ada)
    return client


def leaks(response) -> list[str]:
    return [marker for marker in B_MARKERS if marker in response.content.decode()]


def test_the_walk_covers_every_operation_of_the_schema(acme, globex, api):
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    walked = {(m, re.sub(r"/[0-9]+/", "/{id}/", p)) for m, p, _ in cases(globex)}
    walked |= OWN_ONLY | ANALYTICS

    operations = {
        (method, template.removeprefix("/api/v1/"))
        for template, methods in schema["paths"].items()
        for method in methods
    }

    assert operations - walked == set()


def test_every_operation_aimed_at_another_organisation_is_refused(a_client, globex):
    before = state_of(globex)

    for method, path, body in cases(globex):
        response = getattr(a_client, method)(f"/api/v1/{path}", body, format="json")
        assert response.status_code in FORBIDDEN, (method, path, response.status_code)
        assert leaks(response) == [], (method, path)

    assert state_of(globex) == before


def test_lists_and_creations_never_show_or_touch_another_organisation(a_client, acme, globex):
    before = state_of(globex)

    for method, path in sorted(OWN_ONLY):
        body = CREATES.get(path) if method == "post" else None
        response = getattr(a_client, method)(f"/api/v1/{path}", body, format="json")
        assert response.status_code < 500, (method, path)
        if method == "get":
            assert response.status_code == 200
            assert leaks(response) == [], path

    assert state_of(globex) == before
    assert Package.objects.get(organisation=acme, key="globex-cli").name == "Mine"


@pytest.fixture
def both_downloaded(acme, globex):
    """A's cli downloaded once; B's globex-cli twice, and a cli of B's once."""
    b_event = {"organisation": globex.id, "domain": "get.globex.test"}
    ingest(
        [
            make_event(organisation=acme.id),
            make_event(**b_event, package="globex-cli"),
            make_event(**b_event, package="globex-cli"),
            make_event(**b_event, package="cli"),
        ]
    )


def events_counted(path: str, response) -> int:
    """What an analytics answer counts: downloads, sources or exported events."""
    if response.streaming:
        lines = b"".join(response.streaming_content).decode().splitlines()
        return len(lines) - 1 if path.endswith(".csv") else len(lines)
    answer = response.json()
    if "downloads" in answer:
        return answer["downloads"]
    return sum(row["count"] for row in answer["results"])


def test_analytics_count_only_the_callers_own_events_whatever_package_is_named(
    a_client, globex, both_downloaded
):
    b_package = ids_of(globex)["packages"]
    expected = {None: 1, "cli": 1, "globex-cli": 0, str(b_package): 0}

    for _, path in sorted(ANALYTICS):
        for package, count in expected.items():
            params = {"package": package} if package else {}
            response = a_client.get(f"/api/v1/{path}", params)
            assert response.status_code == 200, (path, package, response.status_code)
            assert events_counted(path, response) == count, (path, package)


def test_a_manifest_naming_another_organisations_domain_is_refused_with_403(api, globex):
    rule = {**GLOBEX_MANIFEST["rules"][0], "outgoing-url": "https://evil.example/x"}
    own = load_manifest("every-rule-type.json")["rules"]

    response = api.post("/api/v1/manifest/", {"rules": [*own, rule]}, format="json")

    assert response.status_code == 403
    assert response.json()["errors"] == [
        {
            "field": f"rules[{len(own)}].domain",
            "message": "get.globex.test belongs to another organisation",
        }
    ]


def test_the_dashboard_shows_and_changes_nothing_of_another_organisation(client, ada, acme, globex):
    client.force_login(ada)
    domain = globex.domains.get(hostname="get.globex.test")
    Domain.objects.filter(id=domain.id).update(verified=False)
    before = state_of(globex)

    assert leaks(client.get("/")) == []
    assert leaks(client.get("/accounts/organisations/")) == []
    assert client.post(f"/accounts/organisations/{globex.slug}/switch/").status_code == 404
    assert client.post(reverse("verify-domain", args=[domain.id])).status_code == 404
    accept = reverse("accept-invitation", args=[globex.invitation_secret])
    assert client.get(accept).status_code == 404
    assert client.post(accept).status_code == 404
    assert state_of(globex) == before
