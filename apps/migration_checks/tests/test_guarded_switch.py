"""The guarded switch: only the latest check of exactly the move counts, it
must be clean and recent, and the switch is one revision to roll back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.migration_checks.backends import pair_key, primary, with_overrides
from apps.migration_checks.models import MigrationCheck
from apps.packages import services
from apps.packages.models import Revision

from .conftest import add_rule

OLD = "registry.acme.test"
NEW = {"registry": "mirror.acme.test"}


@pytest.fixture
def rule(acme):
    return add_rule(
        acme,
        {"type": "docker-v1", "package-id": "app", "repository-name": "acme/app", "registry": OLD},
    )


def checked(rule, config, status=MigrationCheck.CLEAN, age=timedelta(minutes=5)):
    """A finished check of the move to `config`, as the task stores it."""
    old, new = primary(rule), with_overrides(rule, config)
    counts = {"missing": 0, "different": int(status != MigrationCheck.CLEAN), "extra": 0}
    return MigrationCheck.objects.create(
        organisation=rule.domain.organisation,
        rule=rule,
        old=old.form,
        new=new.form,
        pair=pair_key(old, new),
        status=status,
        report={"compared": 4, "counts": counts},
        finished=timezone.now() - age,
    )


def refusal(call) -> str:
    with pytest.raises(services.Rejected) as refused:
        call()
    [(field, message)] = refused.value.errors
    assert field == "migration_check"
    return message


def test_a_clean_recent_check_of_the_move_allows_the_switch(rule, actor):
    checked(rule, NEW)

    services.switch_backend(rule, actor, NEW)

    rule.refresh_from_db()
    assert rule.config["registry"] == NEW["registry"]


def test_a_check_of_another_move_does_not_count(rule, actor):
    checked(rule, {"registry": "elsewhere.acme.test"})

    assert "no migration check has compared" in refusal(
        lambda: services.switch_backend(rule, actor, NEW)
    )


def test_an_old_clean_check_is_not_enough(rule, actor, settings):
    checked(rule, NEW, age=timedelta(hours=25))

    assert "more than 24 hours ago" in refusal(lambda: services.switch_backend(rule, actor, NEW))


def test_a_newer_check_with_differences_withdraws_an_older_clean_one(rule, actor):
    checked(rule, NEW, age=timedelta(hours=2))
    checked(rule, NEW, status=MigrationCheck.DIFFERENCES, age=timedelta(hours=1))

    assert "is not clean" in refusal(lambda: services.switch_backend(rule, actor, NEW))


def test_an_unfinished_check_is_not_enough(rule, actor):
    checked(rule, NEW).__class__.objects.update(status=MigrationCheck.RUNNING, finished=None)

    assert "has not finished" in refusal(lambda: services.switch_backend(rule, actor, NEW))


def test_the_guard_can_be_waived(rule, actor):
    services.switch_backend(rule, actor, NEW, require_clean_check=False)

    rule.refresh_from_db()
    assert rule.config["registry"] == NEW["registry"]


def test_a_canary_share_needs_the_check_but_taking_traffic_away_does_not(rule, actor):
    backend = services.add_backend(rule, actor, NEW)

    refusal(lambda: services.shift_traffic(backend, actor, 10))
    checked(rule, NEW)
    assert services.shift_traffic(backend, actor, 10).weight == 10
    MigrationCheck.objects.all().delete()
    assert services.shift_traffic(backend, actor, 0).weight == 0


def test_switching_to_an_alternate_keeps_the_old_backend_as_failover_and_rolls_back_in_one(
    rule, actor
):
    backend = services.add_backend(rule, actor, NEW, weight=30)
    checked(rule, NEW)

    services.switch_backend(rule, actor, NEW)
    rule.refresh_from_db()
    backend.refresh_from_db()
    assert rule.config["registry"] == NEW["registry"]
    assert (backend.config, backend.weight) == ({"registry": OLD}, None)

    services.rollback(Revision.objects.filter(object_type="rule").first(), actor)
    rule.refresh_from_db()
    backend.refresh_from_db()
    assert rule.config["registry"] == OLD
    assert (backend.config, backend.weight) == (NEW, 30)
