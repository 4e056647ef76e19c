"""Every change to domains, packages and rules goes through here.

The API and the dashboard call these functions instead of saving models, so
each change is validated the same way (rules by the gateway engine, in their
manifest form), made inside one transaction, and recorded as a Revision
saying who did it and what the object looked like before and after. Saving
a Domain or Rule publishes the routing table on commit (apps.gateway.signals),
so a change is live once the transaction commits.

Snapshots (a revision's `before` / `after`) are plain JSON: a rule is its
manifest form plus id and position (and its alternate backends, when it has
some); a package or domain carries its rules, so rolling back its deletion
brings them back. A backend is its id, rule, position, overrides and weight:
its health is not configuration and is never rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import ApiToken, Organisation, User
from apps.gateway.engine.backends import check_weights, validate_alternate
from apps.gateway.engine.manifest import parse_manifest
from apps.gateway.engine.rules import FieldError
from apps.gateway.engine.rules import Rule as EngineRule
from apps.migration_checks import backends as described
from apps.migration_checks.guard import FIELD as CHECK_FIELD
from apps.migration_checks.guard import switch_problem

from . import manifests
from .domains import claim_problem, has_challenge_record
from .models import Backend, Domain, Package, Revision, Rule
from .validation import validate_rule


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a person, an API token, or the system (neither)."""

    user: User | None = None
    token: ApiToken | None = None

    @property
    def label(self) -> str:
        if self.token is not None:
            return f"token {self.token.name} ({self.token.prefix}…) of {self.token.created_by}"
        return self.user.email if self.user is not None else "system"


SYSTEM = Actor()


class Rejected(Exception):
    """A change refused before anything was saved; `errors` are (field, message)."""

    status = 400

    def __init__(self, errors: list[tuple[str | None, str]]):
        super().__init__(
            "; ".join(f"{field}: {message}" if field else message for field, message in errors)
        )
        self.errors = errors


class Conflict(Rejected):
    """A change that would undo or overwrite something changed since."""

    status = 409


class Forbidden(Rejected):
    """A change that would write into another organisation's objects."""

    status = 403


# --- Snapshots -----------------------------------------------------------------------------


def rule_snapshot(rule: Rule) -> dict[str, Any]:
    snapshot = {"id": rule.id, "position": rule.position, "rule": rule.manifest_form()}
    backends = [backend_snapshot(backend) for backend in rule.backends.all()]
    if backends:
        snapshot["backends"] = backends
    return snapshot


def backend_snapshot(backend: Backend) -> dict[str, Any]:
    return {
        "id": backend.id,
        "rule": backend.rule_id,
        "position": backend.position,
        "config": backend.config,
        "weight": backend.weight,
    }


def _rules_snapshot(rules) -> list[dict[str, Any]]:
    rules = rules.select_related("domain", "package").prefetch_related("backends")
    return [rule_snapshot(rule) for rule in rules]


def package_snapshot(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "key": package.key,
        "name": package.name,
        "kind": package.kind,
        "public_stats": package.public_stats,
        "rules": _rules_snapshot(package.rules.all()),
    }


def domain_snapshot(domain: Domain) -> dict[str, Any]:
    return {
        "id": domain.id,
        "hostname": domain.hostname,
        "verified": domain.verified,
        "verification_token": domain.verification_token,
        "https_only": domain.https_only,
        "rules": _rules_snapshot(domain.rules.all()),
    }


def domains_snapshot(organisation: Organisation, hostnames: list[str]) -> dict[str, Any]:
    """The rules of each named domain of the organisation (what an import replaces)."""
    rules = {hostname: [] for hostname in hostnames}
    own = Rule.objects.filter(domain__organisation=organisation, domain__hostname__in=hostnames)
    for snapshot in _rules_snapshot(own):
        rules[snapshot["rule"]["domain"]].append(snapshot)
    return {"domains": rules}


def _record(
    organisation: Organisation,
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int | None,
    before: Any,
    after: Any,
    reverts: Revision | None = None,
    package: str | None = None,
) -> Revision | None:
    """The revision of a change; none for an update that changed nothing (a
    PATCH of the same values), which would only fill the history. `package`
    is the key of the package it is about, found in the snapshots unless given."""
    if action == Revision.UPDATE and before == after:
        return None
    return Revision.objects.create(
        organisation=organisation,
        user=actor.user,
        token=actor.token,
        actor=actor.label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        reverts=reverts,
        package=package_of_change(object_type, before, after) if package is None else package,
    )


def package_of_change(object_type: str, before: Any, after: Any) -> str:
    """The key of the package a change is about: a package's, a rule's (its
    manifest form names it) or a backend's rule's; empty for the others."""
    snapshot = after or before or {}
    match object_type:
        case "package":
            return snapshot["key"]
        case "rule":
            form = snapshot["rule"]
            return form[Rule.package_key_field(form["type"])]
        case "backend":
            rule = Rule.objects.filter(id=snapshot["rule"]).select_related("package").first()
            return rule.package.key if rule else ""
    return ""


# --- Rules ---------------------------------------------------------------------------------


def _own_domain(organisation: Organisation, hostname: str) -> Domain:
    domain = Domain.objects.filter(hostname=hostname.lower()).first()
    if domain is None:
        raise Rejected([("domain", f"{hostname} is not a domain of this organisation")])
    if domain.organisation_id != organisation.id:
        raise Forbidden([("domain", f"{hostname} belongs to another organisation")])
    return domain


def _put_rule(organisation: Organisation, snapshot: dict[str, Any], rule: Rule | None) -> Rule:
    """Make `rule` (or a new rule with the snapshot's id) what the snapshot says,
    after the engine has validated its manifest form."""
    try:
        engine_rule = validate_rule(snapshot["rule"])
    except FieldError as error:
        raise Rejected([(error.field, error.reason)]) from None
    _refuse_unknown_fields(snapshot["rule"], engine_rule)
    form = engine_rule.to_manifest()
    domain = _own_domain(organisation, form["domain"])
    key = form[Rule.package_key_field(form["type"])]
    rule = rule or Rule(id=snapshot.get("id"))
    rule.type = form["type"]
    rule.domain = domain
    rule.package, _created = manifests.package_for(organisation, key, form)
    rule.config = manifests.config_of(form)
    rule.position = snapshot["position"]
    rule.save()
    return rule


def _refuse_unknown_fields(form: dict[str, Any], rule: EngineRule) -> None:
    """A field the type does not have would be dropped without a word (a typo
    such as `always_proxy` then saves a rule that does not proxy). Manifest
    imports stay lenient, as the reference gateway is."""
    fields = ["type", "domain", *rule.manifest_fields()]
    unknown = [name for name in form if name not in fields]
    if unknown:
        reason = f"is not a field of {rule.type} rules (they have {', '.join(fields)})"
        raise Rejected([(name, reason) for name in unknown])


def _next_position(organisation: Organisation, form: dict[str, Any]) -> int:
    hostname = str(form.get("domain", "")).lower()
    last = Rule.objects.filter(domain__organisation=organisation, domain__hostname=hostname)
    return max(last.values_list("position", flat=True), default=-1) + 1


@transaction.atomic
def create_rule(
    organisation: Organisation,
    actor: Actor,
    form: dict[str, Any],
    position: int | None = None,
    *,
    new_package: bool = False,
) -> Rule:
    """A new rule from its manifest form; its package is created when missing
    (with `new_package`, it must be missing). Without a position it goes last
    among its domain's rules."""
    key_field = Rule.package_key_field(str(form.get("type")))
    key = form.get(key_field)
    if new_package and Package.objects.filter(organisation=organisation, key=key).exists():
        raise Rejected(
            [(key_field, f"a package with id {key} exists: add a rule to it from its page")]
        )
    if position is None:
        position = _next_position(organisation, form)
    rule = _put_rule(organisation, {"position": position, "rule": form}, None)
    _refuse_a_twin(rule)
    _record(organisation, actor, Revision.CREATE, "rule", rule.id, None, rule_snapshot(rule))
    return rule


def _refuse_a_twin(rule: Rule) -> None:
    """Of two identical rules on a domain only the first ever answers (a form
    sent twice made a second): refuse the new one."""
    same = Rule.objects.filter(domain=rule.domain, type=rule.type, config=rule.config)
    twin = same.exclude(id=rule.id).first()
    if twin is not None:
        reason = f"rule {twin.id} on {rule.domain} is the same rule: this one would never answer"
        raise Rejected([(None, reason)])


@transaction.atomic
def update_rule(
    rule: Rule, actor: Actor, changes: dict[str, Any], position: int | None = None
) -> Rule:
    """Change some manifest fields of a rule (a None value removes the field);
    the whole result is validated again, as an import would."""
    organisation = rule.domain.organisation
    before = rule_snapshot(rule)
    merged = {
        key: value for key, value in {**before["rule"], **changes}.items() if value is not None
    }
    snapshot = {"position": before["position"] if position is None else position, "rule": merged}
    rule = _put_rule(organisation, snapshot, rule)
    for backend in rule.backends.all():
        _check_backend(rule, backend.config, f"backends[{backend.position}].")
    _record(organisation, actor, Revision.UPDATE, "rule", rule.id, before, rule_snapshot(rule))
    return rule


@transaction.atomic
def delete_rule(rule: Rule, actor: Actor) -> None:
    before = rule_snapshot(rule)
    organisation = rule.domain.organisation
    rule.delete()
    _record(organisation, actor, Revision.DELETE, "rule", before["id"], before, None)


# --- Packages ------------------------------------------------------------------------------


@transaction.atomic
def create_package(
    organisation: Organisation, actor: Actor, key: str, name: str, kind: str
) -> Package:
    if Package.objects.filter(organisation=organisation, key=key).exists():
        raise Rejected([("key", f"a package with key {key!r} already exists")])
    package = Package.objects.create(organisation=organisation, key=key, name=name, kind=kind)
    after = package_snapshot(package)
    _record(organisation, actor, Revision.CREATE, "package", package.id, None, after)
    return package


@transaction.atomic
def update_package(package: Package, actor: Actor, **changes: Any) -> Package:
    """Rename a package or publish its download count (`public_stats`: a badge
    and a public page), recorded as one revision; its key and kind are fixed."""
    before = package_snapshot(package)
    for field, value in changes.items():
        setattr(package, field, value)
    package.save(update_fields=list(changes))
    after = package_snapshot(package)
    _record(package.organisation, actor, Revision.UPDATE, "package", package.id, before, after)
    return package


@transaction.atomic
def delete_package(package: Package, actor: Actor) -> None:
    """Delete a package and its rules (its revision keeps them for a rollback)."""
    before = package_snapshot(package)
    package.delete()
    _record(package.organisation, actor, Revision.DELETE, "package", before["id"], before, None)


# --- Domains -------------------------------------------------------------------------------


@transaction.atomic
def claim_domain(organisation: Organisation, actor: Actor, hostname: str) -> Domain:
    """Claim a host name; it serves traffic once verified by DNS."""
    hostname = hostname.strip().lower().rstrip(".")
    reason = claim_problem(organisation, hostname)
    if reason:
        raise Rejected([("hostname", reason)])
    _release_expired_claim(organisation, hostname)
    try:
        with transaction.atomic():
            domain = Domain.objects.create(organisation=organisation, hostname=hostname)
    except IntegrityError:
        raise Rejected([("hostname", f"{hostname} is already claimed")]) from None
    after = domain_snapshot(domain)
    _record(organisation, actor, Revision.CREATE, "domain", domain.id, None, after)
    return domain


def _release_expired_claim(organisation: Organisation, hostname: str) -> None:
    """Another organisation's claim on `hostname` that was never verified within
    DOMAIN_CLAIM_EXPIRY seconds gives way: it is deleted, recorded in that
    organisation's history (with its rules, for a rollback once the name is free)."""
    expired = timezone.now() - timedelta(seconds=settings.DOMAIN_CLAIM_EXPIRY)
    stale = (
        Domain.objects.select_for_update()
        .filter(hostname=hostname, verified=False, created__lt=expired)
        .exclude(organisation=organisation)
        .first()
    )
    if stale is None:
        return
    before = domain_snapshot(stale)
    stale.delete()
    _record(stale.organisation, SYSTEM, Revision.DELETE, "domain", before["id"], before, None)


@transaction.atomic
def delete_domain(domain: Domain, actor: Actor) -> None:
    """Release a domain and delete its rules (the revision keeps them)."""
    before = domain_snapshot(domain)
    _release(domain)
    _record(domain.organisation, actor, Revision.DELETE, "domain", before["id"], before, None)


def _release(domain: Domain) -> None:
    if domain.is_default:
        raise Rejected([("hostname", "the organisation's default domain cannot be removed")])
    domain.delete()


@transaction.atomic
def set_https_only(domain: Domain, actor: Actor, https_only: bool) -> Domain:
    """Redirect the domain's plain-HTTP requests to HTTPS (308), or stop."""
    domain = Domain.objects.select_for_update().get(id=domain.id)
    if domain.https_only != https_only:
        before = domain_snapshot(domain)
        domain.https_only = https_only
        domain.save(update_fields=["https_only"])
        after = domain_snapshot(domain)
        _record(domain.organisation, actor, Revision.UPDATE, "domain", domain.id, before, after)
    return domain


def verify_domain(domain: Domain, actor: Actor = SYSTEM) -> bool:
    """Check the domain's TXT record and mark it verified when it matches.
    Verification is never withdrawn here; the DNS query runs outside any
    transaction."""
    if domain.verified:
        return True
    found = has_challenge_record(domain)
    with transaction.atomic():
        domain = Domain.objects.select_for_update().get(id=domain.id)
        domain.checked = timezone.now()
        if not found or domain.verified:
            domain.save(update_fields=["checked"])
            return domain.verified
        before = domain_snapshot(domain)
        domain.verified, domain.verified_at = True, domain.checked
        domain.save(update_fields=["checked", "verified", "verified_at"])
        after = domain_snapshot(domain)
        _record(domain.organisation, actor, Revision.VERIFY, "domain", domain.id, before, after)
    return True


# --- Manifests -----------------------------------------------------------------------------


@transaction.atomic
def import_manifest(
    organisation: Organisation, actor: Actor, document: Any, *, verify_domains: bool = False
) -> tuple[manifests.ImportSummary, Revision | None]:
    """Import a manifest (all or nothing; domains it creates stay unverified
    unless `verify_domains`; another organisation's expired claim on a domain
    it names gives way, as for a direct claim), recorded as one revision holding the named
    domains' rules before and after, and the packages and domains it created
    (a rollback removes them again). A manifest that changes nothing records
    no revision (None)."""
    hostnames = sorted({rule.domain.lower() for rule in parse_manifest(document, validate_rule)})
    for hostname in hostnames:
        _release_expired_claim(organisation, hostname)
    before = domains_snapshot(organisation, hostnames)
    summary = manifests.import_manifest(organisation, document, verify_domains=verify_domains)
    after = domains_snapshot(organisation, hostnames)
    if after == before and not summary.created_packages:
        return summary, None
    after["created"] = {
        "packages": summary.created_packages,
        "domains": summary.created_domains,
    }
    revision = _record(organisation, actor, Revision.IMPORT, "manifest", None, before, after)
    return summary, revision


# --- Backends ------------------------------------------------------------------------------
#
# A rule's own backend fields are its primary backend; Backend rows are its
# alternates (apps.gateway.engine.backends says how a request picks one).
# Positions are kept dense (0, 1, 2 ...): adding or moving one shifts the rest.


def _own_backends(organisation: Organisation):
    return Backend.objects.filter(rule__domain__organisation=organisation)


def _check_backend(rule: Rule, config: Any, prefix: str = "") -> dict[str, Any]:
    """The overrides, validated by the engine against the rule's current form."""
    try:
        validate_alternate(rule.manifest_form(), config)
    except FieldError as error:
        raise Rejected([(prefix + error.field, error.reason)]) from None
    return dict(config)


def _check_weights(rule: Rule, backend: Backend) -> None:
    others = [b.weight for b in rule.backends.exclude(id=backend.id)]
    try:
        check_weights([*others, backend.weight])
    except FieldError as error:
        raise Rejected([(error.field, error.reason)]) from None


def _place(rule: Rule, backend: Backend, position: int | None) -> None:
    """Save `backend` at `position` among its rule's alternates (None: last;
    past the end: last) and renumber the others densely."""
    others = list(rule.backends.exclude(id=backend.id).order_by("position", "id"))
    index = len(others) if position is None else min(max(position, 0), len(others))
    others.insert(index, backend)
    for number, item in enumerate(others):
        if item is backend:
            item.position = number
            item.save()
        elif item.position != number:
            item.position = number
            item.save(update_fields=["position", "updated"])


def _put_backend(
    organisation: Organisation, rule: Rule, snapshot: dict[str, Any], backend: Backend | None
) -> Backend:
    backend = backend or Backend(id=snapshot.get("id"))
    backend.rule = rule
    backend.config = _check_backend(rule, snapshot["config"])
    backend.weight = snapshot.get("weight")
    _check_weights(rule, backend)
    _place(rule, backend, snapshot.get("position"))
    return backend


def _put_backends(organisation: Organisation, rule: Rule, snapshots: list[dict]) -> None:
    """Make the rule's alternates exactly the snapshots (ids kept)."""
    wanted = {snapshot["id"] for snapshot in snapshots}
    rule.backends.exclude(id__in=wanted).delete()
    for snapshot in sorted(snapshots, key=lambda item: item["position"]):
        backend = _own_backends(organisation).filter(id=snapshot["id"]).first()
        _put_backend(organisation, rule, snapshot, backend)


def _weight(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise Rejected([("weight", "must be a whole number from 0 to 100, or null")])
    return value


@transaction.atomic
def add_backend(
    rule: Rule,
    actor: Actor,
    config: dict[str, Any],
    weight: int | None = None,
    position: int | None = None,
) -> Backend:
    """A new alternate backend of `rule`: `config` overrides the rule type's
    backend fields (e.g. `{"registry": "ghcr.io"}`), `weight` is its canary
    percentage (None: failover only). Without a position it goes last."""
    organisation = rule.domain.organisation
    snapshot = {"config": config, "weight": _weight(weight), "position": position}
    backend = _put_backend(organisation, rule, snapshot, None)
    after = backend_snapshot(backend)
    _record(organisation, actor, Revision.CREATE, "backend", backend.id, None, after)
    return backend


BACKEND_CHANGES = ("config", "weight", "position")


@transaction.atomic
def update_backend(backend: Backend, actor: Actor, **changes: Any) -> Backend:
    """Change an alternate's `config` (replaced whole), `weight` (None: failover
    only) and/or `position` (its place among the rule's alternates)."""
    unknown = sorted(set(changes) - set(BACKEND_CHANGES))
    if unknown:
        raise Rejected([(name, "cannot be changed") for name in unknown])
    backend = Backend.objects.select_for_update().select_related("rule__domain").get(id=backend.id)
    organisation = backend.rule.domain.organisation
    before = backend_snapshot(backend)
    snapshot = {**before, **changes, "weight": _weight(changes.get("weight", before["weight"]))}
    backend = _put_backend(organisation, backend.rule, snapshot, backend)
    after = backend_snapshot(backend)
    _record(organisation, actor, Revision.UPDATE, "backend", backend.id, before, after)
    return backend


def set_backend_weight(backend: Backend, actor: Actor, weight: int | None) -> Backend:
    """Shift a canary share: `weight` percent of requests (None: failover only)."""
    return update_backend(backend, actor, weight=weight)


@transaction.atomic
def remove_backend(backend: Backend, actor: Actor) -> None:
    organisation = backend.rule.domain.organisation
    before = backend_snapshot(backend)
    rule = backend.rule
    backend.delete()
    _place_all(rule)
    _record(organisation, actor, Revision.DELETE, "backend", before["id"], before, None)


def _place_all(rule: Rule) -> None:
    for number, backend in enumerate(rule.backends.order_by("position", "id")):
        if backend.position != number:
            backend.position = number
            backend.save(update_fields=["position", "updated"])


@transaction.atomic
def reorder_backends(rule: Rule, actor: Actor, order: list[int]) -> list[Backend]:
    """Put the rule's alternates in the order of `order` (every backend id of
    the rule, once); recorded as a change of the rule."""
    backends = {backend.id: backend for backend in rule.backends.all()}
    if sorted(order) != sorted(backends):
        raise Rejected([("order", "must list every backend id of the rule exactly once")])
    before = rule_snapshot(rule)
    for number, backend_id in enumerate(order):
        backend = backends[backend_id]
        if backend.position != number:
            backend.position = number
            backend.save(update_fields=["position", "updated"])
    organisation = rule.domain.organisation
    _record(organisation, actor, Revision.UPDATE, "rule", rule.id, before, rule_snapshot(rule))
    return [backends[backend_id] for backend_id in order]


def _restore_backend(organisation: Organisation, backend_id: int, snapshot: dict | None) -> None:
    backend = _own_backends(organisation).filter(id=backend_id).first()
    if snapshot is None:
        if backend is not None:
            rule = backend.rule
            backend.delete()
            _place_all(rule)
        return
    rule = Rule.objects.filter(id=snapshot["rule"], domain__organisation=organisation).first()
    if rule is None:
        raise Rejected([("rule", "the backend's rule no longer exists")])
    _put_backend(organisation, rule, snapshot, backend)


def record_health_change(subject: Backend | Rule, before: dict, after: dict) -> Revision:
    """Record a health flip (by the system) of an alternate (a Backend) or of
    a rule's primary backend (the Rule); never rolled back."""
    if isinstance(subject, Backend):
        rule, object_type = subject.rule, "backend"
    else:
        rule, object_type = subject, "rule"
    organisation = rule.domain.organisation
    return _record(
        organisation,
        SYSTEM,
        Revision.HEALTH,
        object_type,
        subject.id,
        before,
        after,
        package=rule.package.key,
    )


# --- Guarded switches ----------------------------------------------------------------------
#
# Moving a package to another backend, in steps: compare the backends
# (apps.migration_checks), give the new one a canary share (shift_traffic),
# then make it the rule's own (switch_backend). Each step is a revision, so
# one rollback undoes it.


def _require_clean_check(rule: Rule, old, new) -> None:
    problem = switch_problem(rule.domain.organisation, old, new)
    if problem:
        raise Rejected([(CHECK_FIELD, problem)])


def _described(rule: Rule, config: Any):
    try:
        return described.with_overrides(rule, config)
    except FieldError as error:
        raise Rejected([(error.field, error.reason)]) from None


@transaction.atomic
def switch_backend(
    rule: Rule, actor: Actor, config: dict[str, Any], *, require_clean_check: bool = True
) -> Rule:
    """Make `config` (overrides of the rule type's backend fields, as an
    alternate's) the rule's own backend.

    With `require_clean_check`, refused (field `migration_check`) unless the
    latest migration check of exactly this move is clean and recent. An
    alternate serving exactly the new backend takes the old one's fields
    instead, as a failover-only alternate, so the old backend stays at hand.
    Recorded as one revision of the rule: one rollback puts it all back.
    """
    rule = Rule.objects.select_for_update().select_related("domain__organisation").get(id=rule.id)
    organisation = rule.domain.organisation
    old, new = described.primary(rule), _described(rule, config)
    if require_clean_check:
        _require_clean_check(rule, old, new)
    before = rule_snapshot(rule)
    for backend in rule.backends.all():
        if _described(rule, backend.config).form != new.form:
            continue
        swapped = {key: old.form[key] for key in backend.config if key in old.form}
        if len(swapped) < len(backend.config):
            backend.delete()  # the old backend was a default that no override can name
            continue
        backend.config, backend.weight = swapped, None
        backend.save(update_fields=["config", "weight", "updated"])
    _put_rule(organisation, {"position": rule.position, "rule": dict(new.form)}, rule)
    _place_all(rule)
    _record(organisation, actor, Revision.UPDATE, "rule", rule.id, before, rule_snapshot(rule))
    return rule


def shift_traffic(
    backend: Backend, actor: Actor, weight: int | None, *, require_clean_check: bool = True
) -> Backend:
    """Send `weight` percent of the rule's requests to the alternate `backend`
    (None: failover only). With `require_clean_check`, a share above 0 is
    refused unless the latest migration check of the move from the rule's own
    backend to this one is clean and recent; taking traffic away never is."""
    if require_clean_check and weight:
        rule = backend.rule
        _require_clean_check(rule, described.primary(rule), _described(rule, backend.config))
    return set_backend_weight(backend, actor, weight)


# --- Rollback ------------------------------------------------------------------------------


def _restore_rule(organisation: Organisation, rule_id: int, snapshot: dict | None) -> None:
    """The rule as the snapshot says, its alternate backends included."""
    rule = Rule.objects.filter(id=rule_id, domain__organisation=organisation).first()
    if snapshot is None:
        if rule is not None:
            rule.delete()
        return
    rule = _put_rule(organisation, snapshot, rule)
    _put_backends(organisation, rule, snapshot.get("backends", []))


def _restore_rules(organisation: Organisation, snapshots: list[dict]) -> None:
    for snapshot in snapshots:
        _restore_rule(organisation, snapshot["id"], snapshot)


def _restore_package(organisation: Organisation, package_id: int, snapshot: dict | None) -> None:
    package = Package.objects.filter(id=package_id, organisation=organisation).first()
    if snapshot is None:
        if package is not None:
            package.delete()
    elif package is not None:
        package.name = snapshot["name"]
        package.public_stats = snapshot.get("public_stats", False)
        package.save(update_fields=["name", "public_stats"])
    elif Package.objects.filter(organisation=organisation, key=snapshot["key"]).exists():
        raise Rejected([("key", f"another package now uses the key {snapshot['key']!r}")])
    else:
        fields = {k: snapshot[k] for k in ("key", "name", "kind")}
        public = snapshot.get("public_stats", False)
        Package.objects.create(
            id=package_id, organisation=organisation, public_stats=public, **fields
        )
        _restore_rules(organisation, snapshot["rules"])


def _restore_domain(organisation: Organisation, domain_id: int, snapshot: dict | None) -> None:
    """Restoring a deleted domain brings back its rules but not its verification:
    whoever holds the name now must prove it again (the periodic check will,
    as the verification token is the old one)."""
    domain = Domain.objects.filter(id=domain_id, organisation=organisation).first()
    if snapshot is None:
        if domain is not None:
            _release(domain)
        return
    https_only = snapshot.get("https_only", False)
    if domain is not None:
        if domain.https_only != https_only:
            domain.https_only = https_only
            domain.save(update_fields=["https_only"])
        return
    hostname = snapshot["hostname"]
    reason = claim_problem(organisation, hostname)
    if reason or Domain.objects.filter(hostname=hostname).exists():
        raise Rejected([("hostname", reason or f"{hostname} has been claimed again since")])
    Domain.objects.create(
        id=domain_id,
        organisation=organisation,
        hostname=hostname,
        verification_token=snapshot["verification_token"],
        verified=hostname == Domain.default_hostname(organisation),
        https_only=https_only,
    )
    _restore_rules(organisation, snapshot["rules"])


def _restore_manifest(organisation: Organisation, _id: None, snapshot: dict) -> None:
    for hostname, rules in snapshot["domains"].items():
        domain = Domain.objects.filter(organisation=organisation, hostname=hostname).first()
        if domain is None:
            raise Rejected([("domain", f"{hostname} is no longer a domain of this organisation")])
        domain.rules.exclude(id__in=[rule["id"] for rule in rules]).delete()
        _restore_rules(organisation, rules)


def _undo_creations(organisation: Organisation, created: dict) -> None:
    """Remove the packages and domains an import created, once their rules are gone."""
    packages = Package.objects.filter(organisation=organisation, id__in=created["packages"])
    packages.filter(rules__isnull=True).delete()
    domains = Domain.objects.filter(organisation=organisation, id__in=created["domains"])
    for domain in domains.filter(rules__isnull=True):
        if not domain.is_default:
            domain.delete()


def _current_state(revision: Revision) -> Any:
    """The object the revision is about, as a snapshot of how it is now."""
    organisation, object_id = revision.organisation, revision.object_id
    if revision.object_type == "manifest":
        return domains_snapshot(organisation, list(revision.before["domains"]))
    if revision.object_type == "rule":
        found = Rule.objects.filter(id=object_id, domain__organisation=organisation).first()
        return found and rule_snapshot(found)
    if revision.object_type == "package":
        found = Package.objects.filter(id=object_id, organisation=organisation).first()
        return found and package_snapshot(found)
    if revision.object_type == "backend":
        found = _own_backends(organisation).filter(id=object_id).first()
        return found and backend_snapshot(found)
    found = Domain.objects.filter(id=object_id, organisation=organisation).first()
    return found and domain_snapshot(found)


_RESTORERS = {
    "rule": _restore_rule,
    "package": _restore_package,
    "domain": _restore_domain,
    "manifest": _restore_manifest,
    "backend": _restore_backend,
}


def _comparable(snapshot: Any) -> Any:
    """What a rollback compares: the configuration, not a domain's verification
    (which follows DNS and has revisions of its own), nor what an import created."""
    if isinstance(snapshot, dict) and "verification_token" in snapshot:
        return {key: value for key, value in snapshot.items() if key != "verified"}
    if isinstance(snapshot, dict) and "domains" in snapshot:
        return snapshot["domains"]
    if isinstance(snapshot, dict) and "kind" in snapshot:
        # Packages recorded before public stats existed had them off.
        return {"public_stats": False, **snapshot}
    return snapshot


def _check_unchanged_since(revision: Revision, current: Any) -> None:
    """Refuse to roll back a revision whose object changed since: undoing it
    would silently undo (or resurrect over) the later change too."""
    if _comparable(current) == _comparable(revision.after):
        return
    later = Revision.objects.filter(organisation=revision.organisation, id__gt=revision.id).exclude(
        action__in=(Revision.VERIFY, Revision.HEALTH)
    )
    if revision.object_type == "manifest":
        later = later.filter(object_type__in=("manifest", "rule", "package", "domain"))
    else:
        later = later.filter(object_type=revision.object_type, object_id=revision.object_id)
    last = later.order_by("-id").first()
    what = f"{revision.object_type} {revision.object_id or ''}".strip()
    state = "was deleted" if current is None else "has changed"
    since = f" by revision {last.id} ({last.action} by {last.actor})" if last else ""
    raise Conflict([(None, f"the {what} {state} since this revision{since}: roll that back first")])


@transaction.atomic
def rollback(revision: Revision, actor: Actor) -> Revision:
    """Put the revision's object back as it was before the revision, recorded
    as a new revision (so a rollback can itself be rolled back). Refused
    (Conflict) when the object changed since the revision; rolling back an
    import also removes the packages and domains it created."""
    if revision.action == Revision.VERIFY:
        raise Rejected([(None, "a verification follows DNS and cannot be rolled back")])
    if revision.action == Revision.HEALTH:
        raise Rejected([(None, "a health change follows the checks and cannot be rolled back")])
    current = _current_state(revision)
    _check_unchanged_since(revision, current)
    _RESTORERS[revision.object_type](revision.organisation, revision.object_id, revision.before)
    if revision.object_type == "manifest" and "created" in revision.after:
        _undo_creations(revision.organisation, revision.after["created"])
    return _record(
        revision.organisation,
        actor,
        Revision.ROLLBACK,
        revision.object_type,
        revision.object_id,
        current,
        _current_state(revision),
        reverts=revision,
        package=revision.package,
    )
