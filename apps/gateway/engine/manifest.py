"""Scarf Gateway manifests (`{"rules": [...]}`): parse with precise errors, dump back."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .docker import DockerImageRule, DockerPatternRule
from .examples import check_answerable
from .files import CatchAllRule, FileRegexRule, FileTemplateRule
from .npm import NpmRule
from .pixel import PixelRule
from .python import PythonFileRule
from .python_index import PythonIndexRule
from .rules import FieldError, Rule, check_package_key
from .telemetry import TelemetryRule

RULE_TYPES: dict[str, type[Rule]] = {
    cls.type: cls
    for cls in (
        DockerImageRule,
        DockerPatternRule,
        FileTemplateRule,
        FileRegexRule,
        PythonFileRule,
        PythonIndexRule,
        NpmRule,
        CatchAllRule,
        TelemetryRule,
        PixelRule,
    )
}


@dataclass(frozen=True)
class Problem:
    """One reason a manifest is invalid: rule index (None for the document), field, reason."""

    index: int | None
    field: str
    reason: str

    def __str__(self) -> str:
        where = "manifest" if self.index is None else f"rules[{self.index}]"
        return f"{where}.{self.field}: {self.reason}"


class ManifestError(ValueError):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


def parse_rule(data: Any) -> Rule:
    """Parse one rule object; raises FieldError naming the field."""
    if not isinstance(data, Mapping):
        raise FieldError("type", "a rule must be a JSON object")
    rule_type = data.get("type")
    if not isinstance(rule_type, str):
        raise FieldError("type", "is required and must be a string")
    cls = RULE_TYPES.get(rule_type)
    if cls is None:
        raise FieldError("type", f"unknown rule type {rule_type!r}")
    return cls.from_manifest(data)


def validate_rule(data: Any) -> Rule:
    """Parse a rule being saved or imported, refusing one that could never
    answer a request (examples.check_answerable) or whose package key is
    unfit; raises FieldError naming the field."""
    rule = parse_rule(data)
    check_package_key(data[rule.key_field], rule.key_field)
    check_answerable(rule)
    return rule


def parse_manifest(document: Any, parse: Callable[[Any], Rule] = validate_rule) -> list[Rule]:
    """Parse a whole manifest, each rule with `parse`; every problem in it is
    reported at once."""
    if not isinstance(document, Mapping) or "rules" not in document:
        raise ManifestError([Problem(None, "rules", "is required")])
    if not isinstance(document["rules"], list):
        raise ManifestError([Problem(None, "rules", "must be a list")])
    rules: list[Rule] = []
    problems: list[Problem] = []
    for index, data in enumerate(document["rules"]):
        try:
            rules.append(parse(data))
        except FieldError as error:
            problems.append(Problem(index, error.field, error.reason))
    if problems:
        raise ManifestError(problems)
    return rules


def dump_manifest(rules: list[Rule]) -> dict[str, Any]:
    return {"rules": [rule.to_manifest() for rule in rules]}
