"""Starting a migration check (validated, recorded, queued) and running it.

Starting is cheap and happens in the request; running reads both backends
and happens in a Celery task (apps.migration_checks.tasks), so a check of
thousands of tags never holds a web worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.gateway.engine.docker import DockerPatternRule
from apps.gateway.engine.files import CatchAllRule, FileRegexRule, FileTemplateRule
from apps.gateway.engine.npm import NpmRule
from apps.gateway.engine.rules import FieldError
from apps.outbox.queue import enqueue_on_commit
from apps.packages.models import Backend, Rule
from apps.packages.services import Actor, Rejected

from . import inventory
from .backends import BackendDescription, pair_key, with_overrides
from .compare import compare, is_clean
from .models import MigrationCheck
from .signals import migration_check_finished
from .transport import Unreachable

log = logging.getLogger(__name__)

MAX_SCOPE_ENTRIES = 1000
FILE_RULES = (FileTemplateRule, FileRegexRule, CatchAllRule)


def describe(rule: Rule, overrides: Mapping[str, Any] | None, side: str) -> BackendDescription:
    try:
        return with_overrides(rule, overrides)
    except FieldError as error:
        name = error.field.removeprefix("config")
        raise Rejected([(f"{side}{name}", error.reason)]) from None


def check_scope(old: BackendDescription, new: BackendDescription, scope: inventory.Scope) -> None:
    """What the rule type needs to be compared, and nothing it cannot serve."""
    rule = old.rule
    for name in inventory.SCOPE_LISTS:
        if len(getattr(scope, name)) > MAX_SCOPE_ENTRIES:
            raise Rejected([(name, f"at most {MAX_SCOPE_ENTRIES} entries")])
    if scope.file_comparison not in inventory.FILE_COMPARISONS:
        choices = ", ".join(inventory.FILE_COMPARISONS)
        raise Rejected([("file_comparison", f"must be one of {choices}")])
    if isinstance(rule, DockerPatternRule):
        for name in scope.repositories:
            if not inventory.covers(rule, name):
                raise Rejected([("repositories", f"{name} is not covered by {rule.pattern.text}")])
    if isinstance(rule, NpmRule) and rule.is_scope:
        if not scope.packages:
            raise Rejected([("packages", f"name the packages of {rule.package_name} to compare")])
        for name in scope.packages:
            if not rule.claims(name):
                raise Rejected([("packages", f"{name} is not in {rule.package_name}")])
    if isinstance(rule, FILE_RULES):
        if not scope.paths:
            raise Rejected([("paths", "name the paths (on your domain) of the files to compare")])
        for path in scope.paths:
            redirected = path.startswith("/") and all(
                inventory.file_location(side.rule, path) for side in (old, new)
            )
            if not redirected:
                raise Rejected([("paths", f"{path} is not redirected to a backend by this rule")])


@transaction.atomic
def start_check(
    rule: Rule,
    actor: Actor,
    *,
    new: Mapping[str, Any] | None = None,
    backend: Backend | None = None,
    old: Mapping[str, Any] | None = None,
    scope: Mapping[str, Any] | None = None,
) -> MigrationCheck:
    """Queue a comparison of the rule's backend `old` (overrides of its backend
    fields; None: its own) with `new` (overrides) or the alternate `backend`."""
    if (new is None) == (backend is None):
        raise Rejected([("new", "give either the new backend's fields or an alternate backend")])
    if backend is not None and backend.rule_id != rule.id:
        raise Rejected([("backend", "is not a backend of this rule")])
    old_description = describe(rule, old, "old")
    if backend is not None:
        new_description = describe(rule, backend.config, "backend.config")
    else:
        if not new:
            raise Rejected([("new", "name at least one backend field")])
        new_description = describe(rule, new, "new")
    if old_description.form == new_description.form:
        raise Rejected([("new", "is the same backend as the old one")])
    checked_scope = inventory.Scope.from_json(dict(scope or {}))
    check_scope(old_description, new_description, checked_scope)
    check = MigrationCheck.objects.create(
        organisation=rule.domain.organisation,
        rule=rule,
        backend=backend,
        old=old_description.form,
        new=new_description.form,
        pair=pair_key(old_description, new_description),
        scope=checked_scope.to_json(),
        created_by=actor.user,
        token=actor.token,
        actor=actor.label,
    )
    enqueue_on_commit("apps.migration_checks.tasks.run_migration_check", check.id)
    return check


def run_check(check_id: int) -> MigrationCheck | None:
    """Read both backends and store the report. Runs once: a check that is
    no longer pending (already running or finished) is left as it is."""
    with transaction.atomic():
        check = MigrationCheck.objects.select_for_update().filter(id=check_id).first()
        if check is None or check.status != MigrationCheck.PENDING:
            return check
        check.status, check.started = MigrationCheck.RUNNING, timezone.now()
        check.save(update_fields=["status", "started"])
    old, new = BackendDescription(check.old), BackendDescription(check.new)
    try:
        scope = inventory.resolve(old, inventory.Scope.from_json(check.scope))
        old_items = inventory.read(old, scope)
        new_items = inventory.read(new, scope)
    except Unreachable as error:
        check.status, check.error = MigrationCheck.FAILED, str(error)
        check.report = None
    else:
        check.report = {
            "old": {"backend": old.label(), "items": len(old_items)},
            "new": {"backend": new.label(), "items": len(new_items)},
            **compare(old_items, new_items),
        }
        if scope.repositories and not check.scope.get("repositories"):
            check.report["repositories"] = list(scope.repositories)
        clean = is_clean(check.report)
        check.status = MigrationCheck.CLEAN if clean else MigrationCheck.DIFFERENCES
    check.finished = timezone.now()
    check.save(update_fields=["status", "error", "report", "finished"])
    log.info("migration check %s: %s", check.id, check.summary())
    migration_check_finished.send(sender=MigrationCheck, check=check)
    return check
