"""A rollback never silently undoes or resurrects a later change: a revision
whose object changed (or was deleted) since is refused with the reason, and
rolling back an import undoes all of it, the packages it created included."""

import pytest

from apps.accounts.models import Organisation, User
from apps.gateway.tests.conftest import load_manifest
from apps.packages import services
from apps.packages.manifests import export_manifest
from apps.packages.models import Domain, Package, Revision, Rule

pytestmark = pytest.mark.django_db

PIXEL = {"type": "pixel-v1", "domain": "get.acme.test", "package-id": "badge"}


@pytest.fixture
def ada():
    return User.objects.create_user("ada@example.com", "correct horse battery")


@pytest.fixture
def by_ada(ada):
    return services.Actor(user=ada)


@pytest.fixture
def acme(ada, by_ada):
    organisation = Organisation.create_for(ada, "Acme")
    services.claim_domain(organisation, by_ada, "get.acme.test")
    return organisation


def docker_rule(acme) -> Rule:
    return Rule.objects.get(domain__organisation=acme, type="docker-v1")


def test_a_stale_revision_is_refused_and_changes_nothing(acme, by_ada):
    services.import_manifest(acme, by_ada, load_manifest("every-rule-type.json"))
    rule = docker_rule(acme)
    services.update_rule(rule, by_ada, {"registry": "quay.io"})
    first = Revision.objects.get(object_type="rule", object_id=rule.id)
    services.update_rule(rule, by_ada, {"registry": "registry.example.net"})
    before = export_manifest(acme)

    with pytest.raises(services.Conflict) as refused:
        services.rollback(first, by_ada)

    ((field, message),) = refused.value.errors
    assert field is None
    assert f"rule {rule.id} has changed since this revision" in message
    assert "(update by ada@example.com)" in message
    assert export_manifest(acme) == before


def test_a_revision_of_a_rule_deleted_since_is_refused_and_does_not_resurrect_it(acme, by_ada):
    rule = services.create_rule(acme, by_ada, PIXEL)
    rule_id = rule.id
    services.update_rule(rule, by_ada, {"incoming-path": "/b.png"})
    update = Revision.objects.get(action="update", object_id=rule_id)
    services.delete_rule(rule, by_ada)

    with pytest.raises(services.Conflict, match=f"rule {rule_id} was deleted since"):
        services.rollback(update, by_ada)

    assert not Rule.objects.filter(id=rule_id).exists()


def test_a_rule_replaced_by_an_import_does_not_come_back_beside_its_replacement(acme, by_ada):
    manifest = {"rules": [{**PIXEL, "incoming-path": "/a.png"}]}
    services.import_manifest(acme, by_ada, manifest)
    old = Rule.objects.get(package__key="badge")
    services.update_rule(old, by_ada, {"incoming-path": "/old.png"})
    update = Revision.objects.get(action="update", object_id=old.id)
    services.import_manifest(acme, by_ada, {"rules": [{**PIXEL, "incoming-path": "/new.png"}]})

    with pytest.raises(services.Conflict):
        services.rollback(update, by_ada)

    assert [r.config["incoming-path"] for r in Rule.objects.all()] == ["/new.png"]


def test_rolling_back_an_import_undoes_all_of_it(acme, by_ada):
    services.create_rule(acme, by_ada, PIXEL)
    before = export_manifest(acme)
    manifest = load_manifest("every-rule-type.json")
    _summary, revision = services.import_manifest(acme, by_ada, manifest)
    assert Package.objects.filter(organisation=acme).count() > 1

    services.rollback(revision, by_ada)

    assert export_manifest(acme) == before
    assert list(Package.objects.filter(organisation=acme).values_list("key", flat=True)) == [
        "badge"
    ]
    assert not Domain.objects.filter(hostname="www.acme.test").exists()


def test_rolling_back_an_import_changed_since_is_refused(acme, by_ada):
    _summary, revision = services.import_manifest(
        acme, by_ada, load_manifest("every-rule-type.json")
    )
    services.update_rule(docker_rule(acme), by_ada, {"registry": "quay.io"})

    with pytest.raises(services.Conflict, match="the manifest has changed since"):
        services.rollback(revision, by_ada)


def test_the_api_answers_a_stale_rollback_with_409_and_the_reason(acme, by_ada, ada):
    from rest_framework.test import APIClient

    rule = services.create_rule(acme, by_ada, PIXEL)
    services.update_rule(rule, by_ada, {"incoming-path": "/b.png"})
    services.update_rule(rule, by_ada, {"incoming-path": "/c.png"})
    first = Revision.objects.filter(action="update").order_by("id").first()
    client = APIClient()
    client.force_login(ada)

    response = client.post(f"/api/v1/revisions/{first.id}/rollback/")

    assert response.status_code == 409
    assert "has changed since this revision" in response.json()["errors"][0]["message"]
