"""Each revision names the package it is about, so one package's changes are
found by an index: its own, its rules' (deleted ones too), its backends'
and their health changes; a domain's or an import's name none. Migration
0008 gives revisions written before the column the same package."""

import importlib

import pytest
from django.apps import apps

from apps.packages import services
from apps.packages.health import health_snapshot
from apps.packages.models import PrimaryHealth, Revision, Rule

from .test_revisions import acme, ada, by_ada, imported, install_script  # noqa: F401

pytestmark = pytest.mark.django_db

filling = importlib.import_module("apps.packages.migrations.0008_revision_package")


def flip(subject, state) -> None:
    before = health_snapshot(state)
    state.healthy = not state.healthy
    services.record_health_change(subject, before, health_snapshot(state))


@pytest.fixture
def history(imported, by_ada):  # noqa: F811
    rule = install_script(imported)
    services.update_rule(rule, by_ada, {"outgoing-url": "https://mirror.example/i.sh"})
    backend = services.add_backend(rule, by_ada, {"outgoing-url": "https://b.example/i.sh"})
    flip(backend, backend)
    flip(rule, PrimaryHealth(rule=rule))
    services.update_package(rule.package, by_ada, name="Installer")
    services.rollback(imported.revisions.first(), by_ada)
    services.remove_backend(backend, by_ada)
    services.delete_rule(rule, by_ada)
    website = Rule.objects.get(package__organisation=imported, package__key="website")
    services.update_rule(website, by_ada, {"redirect-target-domain": "new.example"})
    return imported


def test_a_packages_changes_are_its_own_its_rules_its_backends_and_their_health(history):
    changes = history.revisions.about_package("install-script").order_by("id")

    assert [(r.action, r.object_type) for r in changes] == [
        ("update", "rule"),
        ("create", "backend"),
        ("health", "backend"),
        ("health", "rule"),
        ("update", "package"),
        ("rollback", "package"),
        ("delete", "backend"),
        ("delete", "rule"),
    ]
    assert [r.action for r in history.revisions.about_package("website")][0] == "update"
    assert (
        history.revisions.filter(object_type__in=["domain", "manifest"]).exclude(package="").count()
        == 0
    )


def test_the_migration_names_the_same_package_for_revisions_written_before(history):
    written = dict(history.revisions.values_list("id", "package"))
    Revision.objects.update(package="")

    filling.fill(apps, None)

    filled = dict(history.revisions.values_list("id", "package"))
    lost = {id: package for id, package in written.items() if filled[id] != package}
    assert lost == {}
