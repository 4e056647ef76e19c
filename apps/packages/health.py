"""Health of the backends of rules with alternates, and its changes.

At each check (apps.packages.tasks.check_backend_health, every
BACKEND_HEALTH_INTERVAL seconds) every backend of every served rule with
alternates, its primary included, is probed (apps.gateway.probes, in
parallel) and the passive signals gathered since the previous check are read
(apps.gateway.passive: failed proxied requests and upstream fetches). A
check fails when the probe fails, or when at least BACKEND_PASSIVE_FAILURES
requests failed and more failed than succeeded.

A backend turns unhealthy after BACKEND_UNHEALTHY_AFTER failed checks in a
row and healthy again after BACKEND_HEALTHY_AFTER good ones. A flip saves the
health (which republishes the domain's routing entry, so every gateway acts
on it within a second), is recorded as a `health` revision by the system, and
is announced with the `backend_health_changed` signal once committed.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.analytics.models import DownloadEvent
from apps.gateway import passive, probes
from apps.gateway.engine.backends import alternate_rule
from apps.gateway.engine.manifest import parse_rule
from apps.gateway.engine.rules import FieldError
from apps.gateway.engine.rules import Rule as EngineRule
from apps.gateway.routing import with_deployment_defaults

from . import services
from .models import Backend, HealthState, PrimaryHealth, Rule
from .signals import backend_health_changed

log = logging.getLogger(__name__)

MAX_PARALLEL_PROBES = 16
SAMPLE_AGE = timedelta(days=7)


@dataclass
class Check:
    """One backend to check: its stored state, the rule as it serves it, and
    the key of its passive signals."""

    rule: Rule
    backend: Backend | None
    engine_rule: EngineRule | None
    sample: probes.Sample | None
    result: probes.ProbeResult | None = None

    @property
    def passive_key(self) -> str:
        return passive.backend_key(str(self.rule.id), self.backend.id if self.backend else None)


def rules_with_alternates():
    return (
        Rule.objects.filter(backends__isnull=False, domain__verified=True)
        .distinct()
        .select_related("domain__organisation", "package")
        .prefetch_related("backends")
        .order_by("id")
    )


def check_all() -> int:
    """One round of checks; returns how many backends changed health."""
    checks = []
    for rule in rules_with_alternates():
        manifest = rule.manifest_form()
        sample = recent_sample(rule)
        checks.append(Check(rule, None, _prepared(manifest, None), sample))
        for backend in rule.backends.all():
            checks.append(Check(rule, backend, _prepared(manifest, backend.config), sample))
    if not checks:
        passive.collect()
        return 0
    with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_PROBES, len(checks))) as pool:
        results = pool.map(_probe, checks)
        for check, result in zip(checks, results, strict=True):
            check.result = result
    signals = passive.collect()
    changed = 0
    for check in checks:
        failures, successes = signals.get(check.passive_key, (0, 0))
        result = check.result or probes.OK
        if result.ok and failures >= settings.BACKEND_PASSIVE_FAILURES and failures > successes:
            result = probes.failed(f"{failures} of {failures + successes} requests failed")
        changed += observe(check.rule, check.backend, result)
    return changed


def _prepared(manifest: dict, overrides: dict | None) -> EngineRule | None:
    try:
        rule = parse_rule(manifest) if overrides is None else alternate_rule(manifest, overrides)
    except FieldError:
        log.warning("rule %s: a backend no longer applies", manifest)
        return None
    return with_deployment_defaults(rule)


def _probe(check: Check) -> probes.ProbeResult:
    if check.engine_rule is None:
        return probes.failed("the backend's overrides no longer apply to the rule")
    try:
        return probes.probe(check.engine_rule, check.sample)
    except Exception as error:  # a check must never stop the round
        log.exception("probing %s failed", check.passive_key)
        return probes.failed(f"{type(error).__name__}: {error}")


def recent_sample(rule: Rule) -> probes.Sample | None:
    """The variables and package name of the rule's latest redirected request
    this week, so a check asks backends for a file that exists."""
    if rule.type not in ("file-v1", "file-v2", "npm-v1"):
        return None
    since = timezone.now() - SAMPLE_AGE
    capture = (
        DownloadEvent.objects.filter(
            organisation_id=rule.domain.organisation_id,
            timestamp__gte=since,
            rule_id=rule.id,
            status=307,
        )
        .order_by("-timestamp")
        .values_list("capture", flat=True)
        .first()
    )
    if not isinstance(capture, dict):
        return None
    variables = capture.get("variables")
    return probes.Sample(
        variables=variables if isinstance(variables, dict) else {},
        name=capture.get("name") if isinstance(capture.get("name"), str) else None,
    )


def observe(rule: Rule, backend: Backend | None, result: probes.ProbeResult) -> bool:
    """Fold one check into the backend's state; True when its health flipped."""
    now = timezone.now()
    with transaction.atomic():
        if backend is None:
            if not Rule.objects.select_for_update().filter(id=rule.id).exists():
                return False  # deleted since the round began (an import replaced it)
            state, _ = PrimaryHealth.objects.select_for_update().get_or_create(rule=rule)
        else:
            state = Backend.objects.select_for_update().filter(id=backend.id).first()
            if state is None:  # removed since the round began
                return False
        before = health_snapshot(state)
        if result.ok:
            state.consecutive_successes += 1
            state.consecutive_failures = 0
            state.last_error = ""
        else:
            state.consecutive_failures += 1
            state.consecutive_successes = 0
            state.last_error = result.error
        state.last_probe = now
        flipped = (
            state.healthy and state.consecutive_failures >= settings.BACKEND_UNHEALTHY_AFTER
        ) or (not state.healthy and state.consecutive_successes >= settings.BACKEND_HEALTHY_AFTER)
        if not flipped:
            bookkeeping = [name for name in HealthState.HEALTH_FIELDS if name != "healthy"]
            state.save(update_fields=[name for name in bookkeeping if name != "last_change"])
            return False
        state.healthy = not state.healthy
        state.last_change = now
        state.save(update_fields=list(HealthState.HEALTH_FIELDS))
        after = health_snapshot(state)
        subject = backend if backend is not None else rule
        revision = services.record_health_change(subject, before, after)
        transaction.on_commit(
            lambda: backend_health_changed.send(
                sender=Backend,
                rule=rule,
                backend=backend,
                healthy=state.healthy,
                error=state.last_error,
                revision=revision,
            )
        )
    log.info(
        "backend %s of rule %s is now %s%s",
        backend.id if backend else "primary",
        rule.id,
        "healthy" if state.healthy else "unhealthy",
        f" ({state.last_error})" if state.last_error else "",
    )
    return True


def health_snapshot(state: HealthState) -> dict:
    return {
        "backend": getattr(state, "id", None) if isinstance(state, Backend) else "primary",
        "healthy": state.healthy,
        "consecutive_failures": state.consecutive_failures,
        "consecutive_successes": state.consecutive_successes,
        "last_error": state.last_error,
    }


def backends_of(package) -> list[dict]:
    """The package's rules that have alternates, each with its primary's
    backend fields and health and its alternates in order (for the
    dashboard's read-only list)."""
    from apps.gateway.engine.backends import backend_fields

    rules = (
        package.rules.filter(backends__isnull=False)
        .distinct()
        .select_related("domain", "primary_health")
        .prefetch_related("backends")
    )
    overview = []
    for rule in rules:
        fields = backend_fields(rule.type)
        overview.append(
            {
                "rule": rule,
                "primary": getattr(rule, "primary_health", None) or PrimaryHealth(rule=rule),
                "primary_config": {k: v for k, v in rule.config.items() if k in fields},
                "alternates": list(rule.backends.all()),
            }
        )
    return overview
