"""Import and export an organisation's rules as a Scarf Gateway manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from apps.accounts.models import Organisation
from apps.gateway.engine.backends import backend_fields
from apps.gateway.engine.manifest import ManifestError, Problem, dump_manifest, parse_manifest
from apps.gateway.engine.manifest import parse_rule as parse_engine_rule

from .domains import claim_problem
from .models import Domain, Package, Rule
from .validation import validate_rule


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: the domains it names, how many packages and rules
    the manifest has, and how many rules it created, changed (same id) and
    deleted; an unchanged manifest creates, changes and deletes none."""

    domains: list[str]
    packages: int
    rules: int
    created: int = 0
    changed: int = 0
    deleted: int = 0
    created_packages: list[int] = field(default_factory=list)
    created_domains: list[int] = field(default_factory=list)


def config_of(manifest_rule: dict[str, Any]) -> dict[str, Any]:
    """What Rule.config stores: the manifest fields other than type, domain and key."""
    key_field = Rule.package_key_field(manifest_rule["type"])
    return {k: v for k, v in manifest_rule.items() if k not in ("type", "domain", key_field)}


class ForeignDomains(ManifestError):
    """The manifest names domains another organisation holds: not a mistake in
    the manifest but a request to write where the importer may not."""


def _check_domains(organisation: Organisation, forms: list[dict[str, Any]]) -> None:
    taken = set(
        Domain.objects.filter(hostname__in={form["domain"].lower() for form in forms})
        .exclude(organisation=organisation)
        .values_list("hostname", flat=True)
    )
    foreign, problems = [], []
    for index, form in enumerate(forms):
        hostname = form["domain"].lower()
        if hostname in taken:
            foreign.append(Problem(index, "domain", f"{hostname} belongs to another organisation"))
        elif reason := claim_problem(organisation, hostname):
            problems.append(Problem(index, "domain", reason))
    if foreign:
        raise ForeignDomains(foreign)
    if problems:
        raise ManifestError(problems)


def import_manifest(
    organisation: Organisation, document: Any, *, verify_domains: bool = False
) -> ImportSummary:
    """Make the organisation's rules on every domain the manifest names exactly
    the manifest's rules, changing only what differs: a rule already there
    (the same manifest form) keeps its id and is not touched; one whose
    backend fields alone changed is updated in place (same id, alternates
    kept); the others are created or deleted. All or nothing: any problem
    raises ManifestError and changes nothing (ForeignDomains when it names
    another organisation's domain). Domains it creates are verified only
    when `verify_domains` (operator imports)."""
    forms = [rule.to_manifest() for rule in parse_manifest(document, validate_rule)]
    _check_domains(organisation, forms)

    with transaction.atomic():
        by_domain: dict[str, list[dict[str, Any]]] = {}
        for form in forms:
            by_domain.setdefault(form["domain"].lower(), []).append(form)
        counts = {"created": 0, "changed": 0, "deleted": 0, "unchanged": 0}
        created_domains, created_packages = [], []
        packages: dict[str, Package] = {}
        for hostname, wanted in by_domain.items():
            domain, created = Domain.objects.get_or_create(
                hostname=hostname,
                defaults={"organisation": organisation, "verified": verify_domains},
            )
            if created:
                created_domains.append(domain.id)
            elif verify_domains and not domain.verified:
                domain.verified = True
                domain.save(update_fields=["verified"])
            kept = []
            for position, (form, rule) in enumerate(_pair(list(domain.rules.all()), wanted)):
                key = form[Rule.package_key_field(form["type"])]
                if key not in packages:
                    packages[key], made = package_for(organisation, key, form)
                    if made:
                        created_packages.append(packages[key].id)
                rule, outcome = _put(rule, form, domain, packages[key], position)
                kept.append(rule.id)
                counts[outcome] += 1
            stale = domain.rules.exclude(id__in=kept)
            counts["deleted"] += stale.count()
            stale.delete()
    del counts["unchanged"]
    return ImportSummary(
        domains=sorted(by_domain),
        packages=len(packages),
        rules=len(forms),
        created_packages=created_packages,
        created_domains=created_domains,
        **counts,
    )


def normalised(form: dict[str, Any]) -> dict[str, Any]:
    """A manifest form as the engine writes it back (so a stored rule and the
    same rule in a manifest compare equal: tokens hashed, defaults dropped)."""
    return parse_engine_rule(form).to_manifest()


def _identity(form: dict[str, Any]) -> str:
    """A rule's manifest form without its backend fields: an imported rule
    with the same identity as an existing one is that rule with its backend
    switched, so it keeps its id and alternate backends."""
    fields = backend_fields(form["type"])
    rest = {key: value for key, value in form.items() if key not in fields}
    rest["domain"] = rest["domain"].lower()
    return json.dumps(rest, sort_keys=True)


def _pair(existing: list[Rule], wanted: list[dict[str, Any]]) -> list[tuple[dict, Rule | None]]:
    """Each wanted form with the existing rule it stays or becomes (None: a
    new rule): identical forms first, then forms of the same identity, each
    existing rule used once, in order."""
    unused = {rule.id: rule for rule in existing}
    stored = {rule.id: normalised(rule.manifest_form()) for rule in existing}
    paired: dict[int, Rule | None] = {}
    for same in (lambda a, b: a == b, lambda a, b: _identity(a) == _identity(b)):
        for index, form in enumerate(wanted):
            if index in paired:
                continue
            match = next((r for r in unused.values() if same(stored[r.id], form)), None)
            if match is not None:
                paired[index] = unused.pop(match.id)
    return [(form, paired.get(index)) for index, form in enumerate(wanted)]


def _put(
    rule: Rule | None, form: dict[str, Any], domain: Domain, package: Package, position: int
) -> tuple[Rule, str]:
    """Create `rule`, or make it what `form` says; the rule, and whether it
    was created, changed or unchanged."""
    config = config_of(form)
    if rule is None:
        rule = Rule.objects.create(
            package=package, domain=domain, type=form["type"], config=config, position=position
        )
        return rule, "created"
    if (rule.config, rule.position, rule.package_id) == (config, position, package.id):
        return rule, "unchanged"
    rule.config, rule.position, rule.package = config, position, package
    rule.save()
    return rule, "changed"


def package_for(organisation: Organisation, key: str, form: dict[str, Any]) -> tuple[Package, bool]:
    """The organisation's package a rule names, created (or renamed) as the
    rule says, and whether it was created."""
    name = form.get("package-name") or form.get("repository-name") or form.get("pattern") or key
    # Registry names may be longer than a package's name holds (npm's up to
    # 214 characters, Docker's 255): the name shown is their start.
    name = name[: Package._meta.get_field("name").max_length]
    package, created = Package.objects.get_or_create(
        organisation=organisation,
        key=key,
        defaults={"name": name, "kind": Rule.KIND_OF_TYPE[form["type"]]},
    )
    if not created and form.get("package-name") and package.name != name:
        package.name = name
        package.save(update_fields=["name"])
    return package, created


def export_manifest(organisation: Organisation) -> dict[str, Any]:
    """The organisation's rules as a manifest, ordered by domain then position."""
    rules = Rule.objects.filter(domain__organisation=organisation).select_related(
        "domain", "package"
    )
    return dump_manifest([parse_engine_rule(rule.manifest_form()) for rule in rules])
