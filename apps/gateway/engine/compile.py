"""One domain's rules, sorted and merged into an immutable, ready-to-match entry."""

from __future__ import annotations

from dataclasses import dataclass

from .http import Request
from .outcome import Outcome, not_found
from .rules import Rule


@dataclass(frozen=True)
class DomainRoutes:
    """The compiled rules of one domain: the first rule that answers wins."""

    host: str
    rules: tuple[Rule, ...]
    version: int = 0

    def resolve(self, request: Request) -> Outcome:
        for rule in self.rules:
            outcome = rule.match(request)
            if outcome is not None:
                return outcome
        return not_found(request)


def compile_domain_rules(host: str, rules: list[Rule], version: int = 0) -> DomainRoutes:
    """Sort stably by type order then the type's own key, and merge neighbours."""
    ordered = sorted(rules, key=lambda rule: (rule.order, rule.sort_key()))
    merged: list[Rule] = []
    for rule in ordered:
        combined = merged[-1].merge_with(rule) if merged else None
        if combined is None:
            merged.append(rule)
        else:
            merged[-1] = combined
    return DomainRoutes(host=host.lower(), rules=tuple(merged), version=version)
