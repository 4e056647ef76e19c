"""Several backends per rule: failover on health, canary weights.

A rule's own backend fields (its manifest form, imported unchanged) are its
*primary* backend; a rule may also have *alternates*, each a set of
overrides of the type's backend fields only (`BACKEND_FIELDS`). Each
alternate is parsed into a full rule (the rule with its overrides applied),
so an alternate answers exactly as the same rule pointing elsewhere would.

Which backend answers a request (`BackendSet.choose`) depends only on the
health and weights the routing entry carries and on one random draw, so
matching stays pure: the health checks run elsewhere (apps.packages.health)
and change the routing entry when a backend's health flips.

- The *base* is the first healthy backend that takes no canary share (the
  primary, then failover-only alternates in order); when none of those is
  healthy, the first healthy alternate; when nothing is healthy, the primary.
- Healthy alternates with a weight (a percentage) other than the base take
  that share of requests; the base takes the rest.

The outcome's captures say which backend served (`backend`: 0 for the
primary, n for the n-th alternate; `backend_id`: the alternate's stored id),
so analytics can tell the backends apart.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from .examples import check_answerable
from .http import Request
from .manifest import parse_rule
from .outcome import Capture, Document, Fetch, Outcome
from .rules import FieldError, Rule

# The manifest fields that say where a rule type's artifacts live; an
# alternate backend may override these and nothing else.
BACKEND_FIELDS: dict[str, tuple[str, ...]] = {
    "docker-v1": ("registry",),
    "docker-v2": ("registry",),
    "file-v1": ("outgoing-url",),
    "file-v2": ("outgoing-url",),
    "catch-all-v1": ("redirect-target-domain",),
    "python-v1": ("backend-url", "backend-simple-index-url"),
    "python-index-v1": ("backend-simple-index-url",),
    "npm-v1": ("registry",),
}

MAX_WEIGHT = 100

Draw = Callable[[], float]
"""A random source: returns a float in [0, 1). Injectable so tests can seed it."""


def backend_fields(rule_type: str) -> tuple[str, ...]:
    """The fields an alternate of `rule_type` may override (none: no alternates)."""
    return BACKEND_FIELDS.get(rule_type, ())


def check_overrides(rule_type: str, overrides: Any) -> dict[str, str]:
    """The overrides as a dict of backend fields; FieldError naming the problem."""
    allowed = backend_fields(rule_type)
    if not allowed:
        raise FieldError("config", f"{rule_type} rules have no backend to add alternates of")
    if not isinstance(overrides, Mapping) or not overrides:
        raise FieldError("config", f"must be an object with some of: {', '.join(allowed)}")
    for key, value in overrides.items():
        if key not in allowed:
            raise FieldError(
                f"config.{key}",
                f"is not a backend field of {rule_type} (allowed: {', '.join(allowed)})",
            )
        if not isinstance(value, str):
            raise FieldError(f"config.{key}", "must be a string")
    return dict(overrides)


def alternate_rule(manifest: Mapping[str, Any], overrides: Any) -> Rule:
    """The rule in manifest form with an alternate's overrides applied, parsed
    and validated by its type; FieldError names the offending field as
    `config.<field>`."""
    checked = check_overrides(str(manifest.get("type")), overrides)
    try:
        return parse_rule({**manifest, **checked})
    except FieldError as error:
        raise _in_config(error, checked) from None


def _in_config(error: FieldError, overrides: Mapping[str, Any]) -> FieldError:
    """The error, naming an overridden field as `config.<field>`."""
    name = error.field if error.field not in overrides else f"config.{error.field}"
    return FieldError(name, error.reason)


def validate_alternate(manifest: Mapping[str, Any], overrides: Any) -> Rule:
    """An alternate being saved: as `alternate_rule`, and refused when the rule
    with it could never answer a request (examples.check_answerable), as a
    rule being saved is. Stored alternates are loaded with `alternate_rule` alone."""
    rule = alternate_rule(manifest, overrides)
    try:
        check_answerable(rule)
    except FieldError as error:
        raise _in_config(error, overrides) from None
    return rule


def check_weights(weights: list[int | None]) -> None:
    """Each weight is 0-100 and together they leave the base something."""
    for weight in weights:
        if weight is not None and not 0 <= weight <= MAX_WEIGHT:
            raise FieldError("weight", f"must be between 0 and {MAX_WEIGHT} (a percentage)")
    if sum(weight or 0 for weight in weights) > MAX_WEIGHT:
        raise FieldError("weight", f"a rule's backend weights add up to more than {MAX_WEIGHT}")


@dataclass(frozen=True)
class Alternate:
    """One alternate backend as the routing entry carries it."""

    id: int
    rule: Rule
    weight: int | None = None
    healthy: bool = True


@dataclass(frozen=True)
class BackendSet:
    """The primary (`rule`) and its alternates, with their health and weights.

    `draw` is the random source of canary choices (`random.random` unless a
    test injects a seeded one).
    """

    rule: Rule
    alternates: tuple[Alternate, ...]
    primary_healthy: bool = True
    draw: Draw = field(default=random.random, compare=False, repr=False)

    def variant(self, index: int) -> Rule:
        """The rule as backend `index` serves it (0: the primary)."""
        return self.rule if index == 0 else self.alternates[index - 1].rule

    def backend_id(self, index: int) -> int | None:
        return None if index == 0 else self.alternates[index - 1].id

    def choose(self) -> int:
        """The backend for one request: 0 for the primary, n for the n-th alternate."""
        healthy = [self.primary_healthy, *(alternate.healthy for alternate in self.alternates)]
        weights = [None, *(alternate.weight for alternate in self.alternates)]
        if not any(healthy):
            return 0
        candidates = [i for i, ok in enumerate(healthy) if ok]
        base = next((i for i in candidates if weights[i] is None), candidates[0])
        canaries = [(i, weights[i]) for i in candidates if i != base and weights[i]]
        if not canaries:
            return base
        point = self.draw() * MAX_WEIGHT
        for index, weight in canaries:
            if point < weight:
                return index
            point -= weight
        return base

    def tag(self, outcome: Outcome, index: int) -> Outcome:
        """`outcome` with each capture saying which backend served; a Fetch's
        final outcome is tagged once it is decided."""
        response = outcome.response
        if isinstance(response, Fetch):
            then = response.then

            def tagged(document: Document | None) -> Outcome:
                return self.tag(then(document), index)

            response = replace(response, then=tagged)
        backend = {"backend": index, "backend_id": self.backend_id(index)}
        captures = tuple(
            Capture(capture.kind, capture.package, {**capture.fields, **backend})
            for capture in outcome.captures
        )
        return replace(outcome, response=response, captures=captures)


@dataclass(frozen=True)
class WithBackends(Rule):
    """A rule with alternates: each request is answered by the chosen backend's
    variant of the rule. It sorts like its primary and merges with nothing
    (a merged docker run or python repository would hide which backend a
    request is for); python rules choose inside the repository instead
    (python.py), so they are never wrapped."""

    type: ClassVar[str] = ""
    order: ClassVar[int] = 0

    backends: BackendSet

    def __post_init__(self):
        object.__setattr__(self, "type", self.backends.rule.type)
        object.__setattr__(self, "order", self.backends.rule.order)

    def sort_key(self) -> tuple:
        return self.backends.rule.sort_key()

    def match(self, request: Request) -> Outcome | None:
        index = self.backends.choose()
        outcome = self.backends.variant(index).match(request)
        return None if outcome is None else self.backends.tag(outcome, index)

    def to_manifest(self) -> dict[str, Any]:
        return self.backends.rule.to_manifest()

    def manifest_fields(self) -> dict[str, Any]:
        return self.backends.rule.manifest_fields()


def with_backends(
    rule: Rule,
    manifest: Mapping[str, Any],
    entries: list[Mapping[str, Any]],
    primary_healthy: bool = True,
    draw: Draw | None = None,
    prepare: Callable[[Rule], Rule] = lambda rule: rule,
) -> Rule:
    """`rule` (parsed from `manifest`) with the alternates a routing entry
    lists (`{"id", "config", "weight", "healthy"}` each); `prepare` is applied
    to every variant (the deployment's defaults). Without alternates, the rule
    itself. Python rules carry their set (the repository chooses); every
    other type is wrapped."""
    if not entries:
        return rule
    alternates = tuple(
        Alternate(
            id=int(entry["id"]),
            rule=prepare(replace(alternate_rule(manifest, entry["config"]), ref=rule.ref)),
            weight=entry.get("weight"),
            healthy=bool(entry.get("healthy", True)),
        )
        for entry in entries
    )
    backends = BackendSet(rule, alternates, primary_healthy, draw or random.random)
    if hasattr(rule, "with_backend_set"):
        return rule.with_backend_set(backends)
    return WithBackends(rule.domain, backends=backends, ref=rule.ref)
