"""Placeholder for python-index-v1 while it is being written (replaced by the real module)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .rules import ORDER_PYTHON, Rule


@dataclass(frozen=True)
class PythonIndexRule(Rule):
    type: ClassVar[str] = "python-index-v1"
    order: ClassVar[int] = ORDER_PYTHON

    @classmethod
    def from_manifest(cls, data):
        raise NotImplementedError

    def match(self, request):
        return None
