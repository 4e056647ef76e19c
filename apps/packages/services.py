"""Every change to domains, packages and rules goes through here.

The API and the dashboard call these functions instead of saving models, so
each change is validated the same way (rules by the gateway engine, in their
manifest form), made inside one transaction, and recorded as a Revision
saying who did it and what the object looked like before and after. Saving
a Domain or Rule publishes the routing table on commit (apps.gateway.signals),
so a change is live once the transaction commits.

Snapshots (a revision's `before` / `after`) are plain JSON: a rule is its
manifest form plus id and position; a package or domain carries its rules,
so rolling back its deletion brings them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import ApiToken, Organisation, User
from apps.gateway.engine.manifest import parse_manifest, parse_rule
from apps.gateway.engine.rules import FieldError

from . import manifests
from .domains import claim_problem, has_challenge_record
from .models import Domain, Package, Revision, Rule


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
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors))
        self.errors = errors


class Forbidden(Rejected):
    """A change that would write into another organisation's objects."""

    status = 403


# --- Snapshots -----------------------------------------------------------------------------


def rule_snapshot(rule: Rule) -> dict[str, Any]:
    return {"id": rule.id, "position": rule.position, "rule": rule.manifest_form()}


def _rules_snapshot(rules) -> list[dict[str, Any]]:
    return [rule_snapshot(rule) for rule in rules.select_related("domain", "package")]


def package_snapshot(package: Package) -> dict[str, Any]:
    return {
        "id": package.id,
        "key": package.key,
        "name": package.name,
        "kind": package.kind,
        "rules": _rules_snapshot(package.rules.all()),
    }


def domain_snapshot(domain: Domain) -> dict[str, Any]:
    return {
        "id": domain.id,
        "hostname": domain.hostname,
        "verified": domain.verified,
        "verification_token": domain.verification_token,
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
) -> Revision:
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
    )


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
        form = parse_rule(snapshot["rule"]).to_manifest()
    except FieldError as error:
        raise Rejected([(error.field, error.reason)]) from None
    domain = _own_domain(organisation, form["domain"])
    key = form[Rule.package_key_field(form["type"])]
    rule = rule or Rule(id=snapshot.get("id"))
    rule.type = form["type"]
    rule.domain = domain
    rule.package = manifests.package_for(organisation, key, form)
    rule.config = manifests.config_of(form)
    rule.position = snapshot["position"]
    rule.save()
    return rule


def _next_position(organisation: Organisation, form: dict[str, Any]) -> int:
    hostname = str(form.get("domain", "")).lower()
    last = Rule.objects.filter(domain__organisation=organisation, domain__hostname=hostname)
    return max(last.values_list("position", flat=True), default=-1) + 1


@transaction.atomic
def create_rule(
    organisation: Organisation, actor: Actor, form: dict[str, Any], position: int | None = None
) -> Rule:
    """A new rule from its manifest form; its package is created when missing.
    Without a position it goes last among its domain's rules."""
    if position is None:
        position = _next_position(organisation, form)
    rule = _put_rule(organisation, {"position": position, "rule": form}, None)
    _record(organisation, actor, Revision.CREATE, "rule", rule.id, None, rule_snapshot(rule))
    return rule


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
def rename_package(package: Package, actor: Actor, name: str) -> Package:
    before = package_snapshot(package)
    package.name = name
    package.save(update_fields=["name"])
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
    try:
        with transaction.atomic():
            domain = Domain.objects.create(organisation=organisation, hostname=hostname)
    except IntegrityError:
        raise Rejected([("hostname", f"{hostname} is already claimed")]) from None
    after = domain_snapshot(domain)
    _record(organisation, actor, Revision.CREATE, "domain", domain.id, None, after)
    return domain


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
    organisation: Organisation, actor: Actor, document: Any
) -> tuple[manifests.ImportSummary, Revision]:
    """Import a manifest (all or nothing, domains it creates stay unverified),
    recorded as one revision holding the named domains' rules before and after."""
    hostnames = sorted({rule.domain.lower() for rule in parse_manifest(document)})
    before = domains_snapshot(organisation, hostnames)
    summary = manifests.import_manifest(organisation, document)
    after = domains_snapshot(organisation, hostnames)
    revision = _record(organisation, actor, Revision.IMPORT, "manifest", None, before, after)
    return summary, revision


# --- Rollback ------------------------------------------------------------------------------


def _restore_rule(organisation: Organisation, rule_id: int, snapshot: dict | None) -> None:
    rule = Rule.objects.filter(id=rule_id, domain__organisation=organisation).first()
    if snapshot is None:
        if rule is not None:
            rule.delete()
        return
    _put_rule(organisation, snapshot, rule)


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
        package.save(update_fields=["name"])
    elif Package.objects.filter(organisation=organisation, key=snapshot["key"]).exists():
        raise Rejected([("key", f"another package now uses the key {snapshot['key']!r}")])
    else:
        fields = {k: snapshot[k] for k in ("key", "name", "kind")}
        Package.objects.create(id=package_id, organisation=organisation, **fields)
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
    if domain is not None:
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
    )
    _restore_rules(organisation, snapshot["rules"])


def _restore_manifest(organisation: Organisation, _id: None, snapshot: dict) -> None:
    for hostname, rules in snapshot["domains"].items():
        domain = Domain.objects.filter(organisation=organisation, hostname=hostname).first()
        if domain is None:
            raise Rejected([("domain", f"{hostname} is no longer a domain of this organisation")])
        domain.rules.all().delete()
        _restore_rules(organisation, rules)


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
    found = Domain.objects.filter(id=object_id, organisation=organisation).first()
    return found and domain_snapshot(found)


_RESTORERS = {
    "rule": _restore_rule,
    "package": _restore_package,
    "domain": _restore_domain,
    "manifest": _restore_manifest,
}


@transaction.atomic
def rollback(revision: Revision, actor: Actor) -> Revision:
    """Put the revision's object back as it was before the revision, recorded
    as a new revision (so a rollback can itself be rolled back)."""
    if revision.action == Revision.VERIFY:
        raise Rejected([(None, "a verification follows DNS and cannot be rolled back")])
    current = _current_state(revision)
    _RESTORERS[revision.object_type](revision.organisation, revision.object_id, revision.before)
    return _record(
        revision.organisation,
        actor,
        Revision.ROLLBACK,
        revision.object_type,
        revision.object_id,
        current,
        _current_state(revision),
        reverts=revision,
    )
