"""Import and export an organisation's rules as a Scarf Gateway manifest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.accounts.models import Organisation
from apps.gateway.engine.backends import backend_fields
from apps.gateway.engine.manifest import ManifestError, Problem, dump_manifest, parse_manifest
from apps.gateway.engine.manifest import parse_rule as parse_engine_rule

from .domains import claim_problem
from .models import Domain, Package, Rule


@dataclass(frozen=True)
class ImportSummary:
    domains: list[str]
    packages: int
    rules: int


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
    the manifest's rules. All or nothing: any problem raises ManifestError and
    changes nothing (ForeignDomains when it names another organisation's
    domain). Domains it creates are verified only when `verify_domains`
    (operator imports)."""
    forms = [rule.to_manifest() for rule in parse_manifest(document)]
    _check_domains(organisation, forms)

    with transaction.atomic():
        domains: dict[str, Domain] = {}
        kept: dict[str, list[tuple]] = {}
        for form in forms:
            hostname = form["domain"].lower()
            if hostname not in domains:
                domain, _ = Domain.objects.get_or_create(
                    hostname=hostname,
                    defaults={"organisation": organisation, "verified": verify_domains},
                )
                if verify_domains and not domain.verified:
                    domain.verified = True
                    domain.save(update_fields=["verified"])
                kept = _kept_backends(domain, kept)
                domain.rules.all().delete()
                domains[hostname] = domain

        packages: dict[str, Package] = {}
        positions: dict[str, int] = {}
        for form in forms:
            hostname = form["domain"].lower()
            key = form[Rule.package_key_field(form["type"])]
            package = packages.get(key) or package_for(organisation, key, form)
            packages[key] = package
            positions[hostname] = positions.get(hostname, -1) + 1
            rule = Rule.objects.create(
                package=package,
                domain=domains[hostname],
                type=form["type"],
                config=config_of(form),
                position=positions[hostname],
            )
            _restore_kept(rule, kept.get(_identity(form)))
    return ImportSummary(domains=sorted(domains), packages=len(packages), rules=len(forms))


def _identity(form: dict[str, Any]) -> str:
    """A rule's manifest form without its backend fields: an imported rule
    with the same identity as a replaced one keeps its alternate backends
    (and their health), even when the manifest switched its primary."""
    fields = backend_fields(form["type"])
    rest = {key: value for key, value in form.items() if key not in fields}
    rest["domain"] = rest["domain"].lower()
    return json.dumps(rest, sort_keys=True)


def _kept_backends(domain: Domain, kept: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """The alternates and primary health of the domain's rules, by identity,
    before the import deletes the rules."""
    rules = domain.rules.filter(backends__isnull=False).distinct().select_related("package")
    for rule in rules.select_related("primary_health").prefetch_related("backends"):
        primary = getattr(rule, "primary_health", None)
        kept.setdefault(_identity(rule.manifest_form()), []).append(
            (list(rule.backends.all()), primary)
        )
    return kept


def _restore_kept(rule: Rule, kept: list[tuple] | None) -> None:
    if not kept:
        return
    backends, primary = kept.pop(0)
    for backend in backends:
        backend.pk, backend.rule = backend.id, rule
        backend.save(force_insert=True)
    if primary is not None:
        primary.pk, primary.rule = None, rule
        primary.save(force_insert=True)


def package_for(organisation: Organisation, key: str, form: dict[str, Any]) -> Package:
    """The organisation's package a rule names, created (or renamed) as the rule says."""
    name = form.get("package-name") or form.get("repository-name") or form.get("pattern") or key
    package, created = Package.objects.get_or_create(
        organisation=organisation,
        key=key,
        defaults={"name": name, "kind": Rule.KIND_OF_TYPE[form["type"]]},
    )
    if not created and form.get("package-name") and package.name != form["package-name"]:
        package.name = form["package-name"]
        package.save(update_fields=["name"])
    return package


def export_manifest(organisation: Organisation) -> dict[str, Any]:
    """The organisation's rules as a manifest, ordered by domain then position."""
    rules = Rule.objects.filter(domain__organisation=organisation).select_related(
        "domain", "package"
    )
    return dump_manifest([parse_engine_rule(rule.manifest_form()) for rule in rules])
