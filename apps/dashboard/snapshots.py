"""Snapshots (what a revision or a backend switch changes) as readable rows:
one per field, named by its path, with its value before and after.

A snapshot is JSON (apps.packages.services): a rule's manifest form, or a
package or domain holding its rules. Nested objects become paths such as
`rules › #12 › rule › outgoing-url`; a list of objects with an `id` is keyed
by it, so a rule keeps its name when another is added before it; any other
list is one value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

SEPARATOR = " › "


@dataclass(frozen=True)
class Change:
    """One field: its value before and after as text, None where it is absent."""

    field: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before == self.after:
            return "same"
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "changed"

    @property
    def changed(self) -> bool:
        return self.kind != "same"


def compare(before: Any, after: Any) -> list[Change]:
    """Every field of either snapshot (None: no object), in path order."""
    old, new = flatten(before), flatten(after)
    paths = sorted(set(old) | set(new))
    return [Change(SEPARATOR.join(path), old.get(path), new.get(path)) for path in paths]


def flatten(snapshot: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """The snapshot's leaf values as text, by path."""
    if isinstance(snapshot, dict):
        items = snapshot.items()
    elif _identified(snapshot):
        items = ((f"#{item['id']}", item) for item in snapshot)
    elif snapshot is None and not path:
        return {}
    else:
        return {path: _text(snapshot)}
    leaves: dict[tuple[str, ...], str] = {}
    for key, value in items:
        leaves.update(flatten(value, (*path, str(key))))
    return leaves


def _identified(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, dict) and "id" in item for item in value)
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
