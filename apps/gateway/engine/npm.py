"""Placeholder for npm-v1 while it is being written (replaced by the real module)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .rules import ORDER_NPM, Rule


@dataclass(frozen=True)
class NpmRule(Rule):
    type: ClassVar[str] = "npm-v1"
    order: ClassVar[int] = ORDER_NPM

    @classmethod
    def from_manifest(cls, data):
        raise NotImplementedError

    def match(self, request):
        return None
