"""A move between two real npm registries (static registries on loopback):
the check compares `dist.integrity` of every version of the packages."""

from __future__ import annotations

import pytest

from apps.gateway.tests.clients.test_npm import StaticRegistry, packages  # noqa: F401 - fixture
from apps.migration_checks.checks import run_check, start_check
from apps.migration_checks.models import MigrationCheck
from apps.packages import services

from .conftest import add_rule

pytestmark = pytest.mark.slow


@pytest.fixture
def registries(packages):  # noqa: F811 - the fixture imported above
    """Old: both packages. New: acme-greet with another integrity, no @acme/util."""
    greet = next(package for package in packages if package.name == "acme-greet")
    started = [StaticRegistry(packages), StaticRegistry([greet], {"acme-greet": "sha512-other"})]
    yield (*started, greet)
    for registry in started:
        registry.stop()


def test_a_package_with_another_integrity_is_reported_different(acme, actor, registries):
    old, new, greet = registries
    rule = add_rule(
        acme,
        {
            "type": "npm-v1",
            "package-id": "greet",
            "package-name": "acme-greet",
            "registry": old.url,
        },
    )

    check = run_check(start_check(rule, actor, new={"registry": new.url}).id)

    assert check.status == MigrationCheck.DIFFERENCES
    assert check.report["different"] == [
        {"item": "acme-greet@1.0.0", "old": greet.integrity, "new": "sha512-other"}
    ]
    assert check.report["missing"] == []


def test_a_scope_compares_the_packages_named_and_reports_the_missing_one(acme, actor, registries):
    old, new, _ = registries
    rule = add_rule(
        acme,
        {"type": "npm-v1", "package-id": "scope", "package-name": "@acme/*", "registry": old.url},
    )

    with pytest.raises(services.Rejected) as unnamed:
        start_check(rule, actor, new={"registry": new.url})
    check = run_check(
        start_check(rule, actor, new={"registry": new.url}, scope={"packages": ["@acme/util"]}).id
    )

    assert unnamed.value.errors[0][0] == "packages"
    assert [entry["item"] for entry in check.report["missing"]] == ["@acme/util@1.0.0"]
