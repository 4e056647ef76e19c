"""A backend description: the rule as one of its backends serves it.

A migration check compares two of them, and a guarded switch asks for a
check of exactly the pair it is about to switch between. A description is
the rule type and the rule's full manifest form with that backend's fields
in place (the primary: the rule itself; an alternate: the rule with the
alternate's overrides, apps.gateway.engine.backends), parsed and validated
by the engine, so a check reads each backend exactly as the gateway would
send traffic to it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from apps.gateway.engine.backends import alternate_rule, backend_fields
from apps.gateway.engine.manifest import parse_rule
from apps.gateway.engine.rules import Rule as EngineRule
from apps.packages.models import Rule


@dataclass(frozen=True)
class BackendDescription:
    """`form` is the full manifest form (type, domain, package key, fields)."""

    form: Mapping[str, Any]

    @property
    def type(self) -> str:
        return str(self.form["type"])

    @cached_property
    def rule(self) -> EngineRule:
        return parse_rule(dict(self.form))

    @property
    def fields(self) -> dict[str, Any]:
        """The backend fields alone (where the artifacts are read from)."""
        return {key: self.form[key] for key in backend_fields(self.type) if key in self.form}

    def label(self) -> str:
        """The backend for people: its backend fields' values."""
        return ", ".join(str(value) for value in self.fields.values()) or "(the default)"


def primary(rule: Rule) -> BackendDescription:
    """The rule's own backend."""
    return BackendDescription(parse_rule(rule.manifest_form()).to_manifest())


def with_overrides(rule: Rule, overrides: Mapping[str, Any] | None) -> BackendDescription:
    """The rule with some backend fields overridden (None or {}: its own
    backend). Raises the engine's FieldError (`config.<field>`) when the
    overrides are not backend fields of the type or make the rule invalid."""
    if not overrides:
        return primary(rule)
    return BackendDescription(alternate_rule(rule.manifest_form(), overrides).to_manifest())


def pair_key(old: BackendDescription, new: BackendDescription) -> str:
    """Identifies "moving from `old` to `new`": any change to either rule form
    (its backend fields or anything else) makes it another pair."""
    canonical = json.dumps([old.form, new.form], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
