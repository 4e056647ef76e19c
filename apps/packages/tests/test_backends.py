"""Alternate backends of a rule: added, changed, moved and removed through the
services, each change a revision that can be rolled back."""

import pytest

from apps.accounts.models import Organisation, User
from apps.gateway.tests.conftest import load_manifest
from apps.packages import services
from apps.packages.models import Backend, Revision, Rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada():
    return User.objects.create_user("ada@example.com", "correct horse battery")


@pytest.fixture
def by_ada(ada):
    return services.Actor(user=ada)


@pytest.fixture
def acme(ada, by_ada):
    organisation = Organisation.create_for(ada, "Acme")
    services.claim_domain(organisation, services.SYSTEM, "get.acme.test")
    services.claim_domain(organisation, services.SYSTEM, "www.acme.test")
    services.import_manifest(organisation, by_ada, load_manifest("every-rule-type.json"))
    return organisation


def rule_of(acme, key: str) -> Rule:
    return Rule.objects.get(domain__organisation=acme, package__key=key)


def latest(acme) -> Revision:
    return Revision.objects.filter(organisation=acme).first()


def test_adding_a_backend_records_it_and_puts_it_last(acme, by_ada):
    app = rule_of(acme, "app-image")

    first = services.add_backend(app, by_ada, {"registry": "registry-1.docker.io"})
    second = services.add_backend(app, by_ada, {"registry": "quay.io"}, weight=10)

    assert [b.position for b in app.backends.all()] == [0, 1]
    assert (second.weight, first.weight) == (10, None)
    revision = latest(acme)
    assert (revision.action, revision.object_type, revision.object_id) == (
        "create",
        "backend",
        second.id,
    )
    assert revision.after == {
        "id": second.id,
        "rule": app.id,
        "position": 1,
        "config": {"registry": "quay.io"},
        "weight": 10,
    }


def test_a_backend_may_override_only_its_types_backend_fields(acme, by_ada):
    app = rule_of(acme, "app-image")

    with pytest.raises(services.Rejected) as rejected:
        services.add_backend(app, by_ada, {"repository-name": "other/app"})

    assert rejected.value.errors[0][0] == "config.repository-name"
    assert not Backend.objects.exists()


def test_a_backend_is_validated_by_the_engine(acme, by_ada):
    cli = rule_of(acme, "cli")

    with pytest.raises(services.Rejected) as rejected:
        services.add_backend(cli, by_ada, {"outgoing-url": "https://{host}/x"})

    assert rejected.value.errors[0][0] == "config.outgoing-url"


def test_rules_without_a_backend_have_no_alternates(acme, by_ada):
    with pytest.raises(services.Rejected):
        services.add_backend(rule_of(acme, "readme-pixel"), by_ada, {"incoming-path": "/b.png"})


def test_weights_are_percentages_that_leave_the_primary_something(acme, by_ada):
    app = rule_of(acme, "app-image")
    services.add_backend(app, by_ada, {"registry": "quay.io"}, weight=60)

    with pytest.raises(services.Rejected):
        services.add_backend(app, by_ada, {"registry": "ghcr.io"}, weight=50)
    with pytest.raises(services.Rejected):
        services.add_backend(app, by_ada, {"registry": "ghcr.io"}, weight=101)


def test_inserting_a_backend_shifts_the_others(acme, by_ada):
    app = rule_of(acme, "app-image")
    a = services.add_backend(app, by_ada, {"registry": "a.example"})
    b = services.add_backend(app, by_ada, {"registry": "b.example"})

    c = services.add_backend(app, by_ada, {"registry": "c.example"}, position=0)

    assert list(app.backends.values_list("id", flat=True)) == [c.id, a.id, b.id]


def test_updating_a_backend_changes_weight_and_position(acme, by_ada):
    app = rule_of(acme, "app-image")
    a = services.add_backend(app, by_ada, {"registry": "a.example"})
    b = services.add_backend(app, by_ada, {"registry": "b.example"})

    services.update_backend(b, by_ada, weight=5, position=0)

    assert list(app.backends.values_list("id", "weight")) == [(b.id, 5), (a.id, None)]
    assert latest(acme).before["weight"] is None
    assert latest(acme).after["weight"] == 5


def test_setting_a_weight_is_a_backend_update(acme, by_ada):
    a = services.add_backend(rule_of(acme, "app-image"), by_ada, {"registry": "a.example"})

    services.set_backend_weight(a, by_ada, 25)

    assert Backend.objects.get(id=a.id).weight == 25
    assert latest(acme).action == "update"


def test_removing_a_backend_renumbers_the_rest_and_a_rollback_restores_it(acme, by_ada):
    app = rule_of(acme, "app-image")
    a = services.add_backend(app, by_ada, {"registry": "a.example"})
    b = services.add_backend(app, by_ada, {"registry": "b.example"}, weight=10)
    a_id = a.id

    services.remove_backend(a, by_ada)
    assert list(app.backends.values_list("id", "position")) == [(b.id, 0)]

    services.rollback(latest(acme), by_ada)

    assert list(app.backends.values_list("id", "position", "weight")) == [
        (a_id, 0, None),
        (b.id, 1, 10),
    ]


def test_rolling_back_a_new_backend_removes_it(acme, by_ada):
    app = rule_of(acme, "app-image")
    services.add_backend(app, by_ada, {"registry": "a.example"})

    services.rollback(latest(acme), by_ada)

    assert not app.backends.exists()


def test_reordering_is_a_rule_change_that_rolls_back(acme, by_ada):
    app = rule_of(acme, "app-image")
    a = services.add_backend(app, by_ada, {"registry": "a.example"})
    b = services.add_backend(app, by_ada, {"registry": "b.example"})

    services.reorder_backends(app, by_ada, [b.id, a.id])
    assert list(app.backends.values_list("id", flat=True)) == [b.id, a.id]
    assert latest(acme).object_type == "rule"

    services.rollback(latest(acme), by_ada)
    assert list(app.backends.values_list("id", flat=True)) == [a.id, b.id]


def test_deleting_a_package_and_rolling_back_brings_its_backends_back(acme, by_ada):
    app = rule_of(acme, "app-image")
    a = services.add_backend(app, by_ada, {"registry": "a.example"}, weight=20)
    a_id = a.id

    services.delete_package(app.package, by_ada)
    assert not Backend.objects.exists()
    services.rollback(latest(acme), by_ada)

    restored = Backend.objects.get()
    assert (restored.id, restored.rule_id, restored.config, restored.weight) == (
        a_id,
        app.id,
        {"registry": "a.example"},
        20,
    )


def test_a_rule_change_that_invalidates_a_backend_is_refused(acme, by_ada):
    cli = rule_of(acme, "cli")
    services.add_backend(cli, by_ada, {"outgoing-url": "https://mirror.example/{version}/{file}"})

    with pytest.raises(services.Rejected) as rejected:
        services.update_rule(
            cli, by_ada, {"type": "catch-all-v1", "incoming-path": None, "outgoing-url": None}
        )

    assert rejected.value.errors[0][0].startswith("backends[0].")


def test_health_changes_cannot_be_rolled_back(acme, by_ada):
    a = services.add_backend(rule_of(acme, "app-image"), by_ada, {"registry": "a.example"})
    revision = services.record_health_change(a, {"healthy": True}, {"healthy": False})

    with pytest.raises(services.Rejected):
        services.rollback(revision, by_ada)


def test_reimporting_the_manifest_keeps_the_alternates_and_their_health(acme, by_ada):
    app = rule_of(acme, "app-image")
    backend = services.add_backend(app, by_ada, {"registry": "quay.io"}, weight=10)
    Backend.objects.filter(id=backend.id).update(healthy=False, consecutive_failures=3)
    manifest = load_manifest("every-rule-type.json")
    manifest["rules"][0]["registry"] = "registry.example"  # the primary switched

    services.import_manifest(acme, by_ada, manifest)

    app = rule_of(acme, "app-image")
    assert app.config["registry"] == "registry.example"
    kept = app.backends.get()
    assert (kept.id, kept.config, kept.weight, kept.healthy) == (
        backend.id,
        {"registry": "quay.io"},
        10,
        False,
    )


def test_an_import_without_the_rule_drops_its_alternates_and_a_rollback_restores_them(acme, by_ada):
    app = rule_of(acme, "app-image")
    backend = services.add_backend(app, by_ada, {"registry": "quay.io"})
    manifest = load_manifest("every-rule-type.json")
    manifest["rules"] = manifest["rules"][1:]

    services.import_manifest(acme, by_ada, manifest)
    assert not Backend.objects.exists()
    services.rollback(latest(acme), by_ada)

    assert rule_of(acme, "app-image").backends.get().id == backend.id
