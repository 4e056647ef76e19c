"""What every rule type shares: the base class and the manifest field readers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit

from .http import Request
from .outcome import Outcome

# Type order within a domain (GATEWAY-DECISIONS §1); lower is tried first.
ORDER_DOCKER_V1 = 1
ORDER_DOCKER_V2 = 2
ORDER_PIXEL = 3
ORDER_FILE_V1 = 4
ORDER_FILE_V2 = 5
ORDER_PYTHON = 6
ORDER_NPM = 7
ORDER_TELEMETRY = 8
ORDER_CATCH_ALL = 9


class FieldError(ValueError):
    """A manifest field is missing or invalid; `field` names it."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class Rule:
    """Base of every rule type.

    Subclasses set `type` (the manifest `type`) and `order`, implement
    `from_manifest` / `to_manifest` and `match`. `match` returns None to
    decline (the next rule is tried) or an Outcome, which ends the search.
    `ref` identifies the stored rule (a database id) and is reported with the
    outcome; it is not part of the manifest.
    """

    type: ClassVar[str]
    order: ClassVar[int]
    key_field: ClassVar[str] = "package-id"

    domain: str
    ref: str = field(default="", kw_only=True, compare=False)

    def sort_key(self) -> tuple:
        """Order among rules of the same type; equal keys keep input order."""
        return ()

    def merge_with(self, other: Rule) -> Rule | None:
        """The rule standing for `self` followed by `other`, when the two merge
        (GATEWAY-REFERENCE §3.4); None when they stay separate."""
        return None

    def match(self, request: Request) -> Outcome | None:
        raise NotImplementedError

    def check_answerable(self) -> None:
        """Raise FieldError when the rule, though it parses (the reference
        gateway would load it), could never answer a request as it says.
        Rules being saved or imported are checked (examples.check_answerable);
        rules already stored are loaded without it, so they keep serving."""

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> Rule:
        raise NotImplementedError

    def manifest_fields(self) -> dict[str, Any]:
        """The type's own manifest fields, in the spec's order (None = absent)."""
        raise NotImplementedError

    def to_manifest(self) -> dict[str, Any]:
        """The rule as a manifest object: `type`, `domain`, then its fields,
        absent ones dropped as the reference's encoder does."""
        return {"type": self.type, "domain": self.domain, **without_none(self.manifest_fields())}


# Field readers. Each raises FieldError naming the field; `data` is one rule object.


def required_str(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if value is None:
        raise FieldError(key, "is required")
    if not isinstance(value, str):
        raise FieldError(key, "must be a string")
    return value


def optional_str(data: Mapping[str, Any], key: str, default: str | None = None) -> str | None:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise FieldError(key, "must be a string")
    return value


def optional_bool(data: Mapping[str, Any], key: str, default: bool = False) -> bool:
    value = data.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldError(key, "must be true or false")
    return value


def optional_str_list(data: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldError(key, "must be a list of strings")
    return tuple(value)


# Package keys end up in URLs, exports and page layouts: short and plain.
_PACKAGE_KEY = re.compile(r"[A-Za-z0-9._~:@/+-]{1,100}")


def check_package_key(value: str, field: str) -> None:
    if not value:
        raise FieldError(field, f"{field} must not be empty")
    if len(value) > 100:
        raise FieldError(field, f"{field} must be at most 100 characters ({len(value)} given)")
    if not _PACKAGE_KEY.fullmatch(value):
        other = next(char for char in value if not _PACKAGE_KEY.fullmatch(char))
        raise FieldError(
            field,
            f"{field} may hold letters, digits and . _ ~ : @ / + - only, not {other!r}",
        )


def check_port(port: str | None, field: str) -> None:
    """A port written in a URL or host:port is 1 to 65535."""
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise FieldError(field, f"{field} has port {port}, which is not a port number (1-65535)")


def without_none(data: dict[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None, as the reference's encoder does."""
    return {key: value for key, value in data.items() if value is not None}


# A backend URL is printable ASCII without spaces; backslashes and braces (template
# variables) are refused too. Query and fragment separators are checked apart.
_URL_TEXT = re.compile(r"[!-\[\]-z|~]+")


def check_http_url(url: str, field: str, *, base: bool = False) -> str:
    """Return `url` when it is an absolute http(s) URL with a literal host and
    no user info (so the host a request goes to is the one the manifest
    names); `base` also forbids a query and a fragment. Else FieldError."""
    reason = "must be an absolute http:// or https:// URL with a host"
    try:
        parts = urlsplit(url)
        valid = (
            _URL_TEXT.fullmatch(url) is not None
            and parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and "@" not in parts.netloc
            and (parts.port is None or parts.port > 0)
        )
    except ValueError:
        valid = False
    if not valid:
        raise FieldError(field, reason)
    if base and (parts.query or parts.fragment or "?" in url or "#" in url):
        raise FieldError(field, "must be a base URL, without a query or a fragment")
    return url
