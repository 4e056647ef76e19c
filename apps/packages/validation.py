"""The one check every rule passes before it is saved or imported, by the
dashboard, the API and manifest import alike: the engine's (it parses and
could answer a request) and the deployment's (a backend the rule leaves to
the deployment's default exists)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from apps.gateway.engine.manifest import validate_rule as engine_validate_rule
from apps.gateway.engine.npm import NpmRule
from apps.gateway.engine.python_index import PythonIndexRule
from apps.gateway.engine.rules import FieldError
from apps.gateway.engine.rules import Rule as EngineRule

# Rule type -> (the backend field left to a default, the setting holding it).
DEFAULT_BACKENDS = {
    NpmRule.type: ("registry", "NPM_DEFAULT_REGISTRY_URL"),
    PythonIndexRule.type: ("backend-simple-index-url", "PYTHON_DEFAULT_INDEX_URL"),
}


def default_backend(rule_type: str) -> str:
    """The deployment's default for the type's backend field ("" when none)."""
    _field, setting = DEFAULT_BACKENDS[rule_type]
    return getattr(settings, setting)


def validate_rule(data: Any) -> EngineRule:
    """The rule, or FieldError naming the field and the reason."""
    rule = engine_validate_rule(data)
    if rule.type in DEFAULT_BACKENDS:
        field, setting = DEFAULT_BACKENDS[rule.type]
        if not data.get(field) and not default_backend(rule.type):
            raise FieldError(
                field,
                f"{field} is required: this gateway has no default ({setting} is not set)",
            )
    return rule
