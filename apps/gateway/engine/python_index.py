"""python-index-v1: one Python project served from an upstream simple index.

One rule per package, not one per file (GATEWAY-DECISIONS §4, §9): the
gateway fetches the project page `<index>/<normalised name>/` (through the
edge's cache, stale if the upstream fails), lists its files under our domain
so that every download comes back through us, and redirects each download
to the upstream file. The rule joins the domain's python repository
(python.py), which renders the pages and answers the requests for both rule
types; what this module adds is the manifest form and the index to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .python import PythonRule, index_base
from .rules import check_http_url, optional_str, required_str

RULE_TYPE = "python-index-v1"


@dataclass(frozen=True)
class PythonIndexRule(PythonRule):
    """A project served from `backend_simple_index_url`, or, when the manifest
    names none, from `default_index_url`: the deployment's default index
    (the PYTHON_DEFAULT_INDEX_URL setting), filled in when the domain's rules
    are compiled. It is not part of the manifest, nor of the rule's identity.
    With neither, the project is listed but has no files.
    """

    type: ClassVar[str] = RULE_TYPE

    backend_simple_index_url: str | None = None
    default_index_url: str = field(default="", kw_only=True, compare=False)

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> PythonIndexRule:
        index_url = optional_str(data, "backend-simple-index-url")
        if index_url is not None:
            check_http_url(index_url, "backend-simple-index-url", base=True)
        return cls(
            required_str(data, "domain"),
            package_id=required_str(data, "package-id"),
            package_name=required_str(data, "package-name"),
            backend_simple_index_url=index_url,
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "package-id": self.package_id,
            "package-name": self.package_name,
            "backend-simple-index-url": self.backend_simple_index_url,
        }

    @property
    def index_url(self) -> str | None:
        return index_base(self.backend_simple_index_url or self.default_index_url)
