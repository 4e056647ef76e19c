"""Product events that become webhook events."""

from __future__ import annotations

from django.dispatch import receiver

from apps.migration_checks.backends import BackendDescription
from apps.migration_checks.models import MigrationCheck
from apps.migration_checks.signals import migration_check_finished
from apps.packages.signals import backend_health_changed

from .events import BACKEND_HEALTH, MIGRATION_CHECK, emit


@receiver(backend_health_changed, dispatch_uid="webhooks.backend_health_changed")
def on_backend_health_changed(sender, rule, backend=None, healthy=True, error="", **kwargs):
    revision = kwargs.get("revision")
    form = rule.manifest_form()
    config = backend.config if backend is not None else {}
    emit(
        rule.domain.organisation,
        BACKEND_HEALTH,
        {
            "rule": {"id": rule.id, "type": rule.type, "domain": form["domain"]},
            "package": rule.package.key,
            "backend": None
            if backend is None
            else {"id": backend.id, "position": backend.position, "config": config},
            "primary": backend is None,
            "target": BackendDescription({**form, **config}).label(),
            "healthy": bool(healthy),
            "error": error or "",
            "revision": getattr(revision, "id", None),
        },
    )


@receiver(migration_check_finished, dispatch_uid="webhooks.migration_check_finished")
def on_migration_check_finished(sender, check: MigrationCheck, **kwargs):
    report = check.report or {}
    emit(
        check.organisation,
        MIGRATION_CHECK,
        {
            "check": check.id,
            "status": check.status,
            "clean": check.status == MigrationCheck.CLEAN,
            "rule": check.rule_id,
            "backend": check.backend_id,
            "old": BackendDescription(check.old).label(),
            "new": BackendDescription(check.new).label(),
            "summary": check.summary(),
            "compared": report.get("compared"),
            "counts": report.get("counts"),
            "error": check.error,
        },
    )
