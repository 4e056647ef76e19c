"""What the engine decides: the response to give and the captures to record."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .http import Request
from .paths import decode_segments


@dataclass(frozen=True)
class Redirect:
    location: str
    status: int = 307


@dataclass(frozen=True)
class Respond:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""


@dataclass(frozen=True)
class Proxy:
    """Forward the request to `upstream` (a registry given as `host`,
    `host:port` or `http://host:port`); the I/O happens at the edge."""

    upstream: str
    protocol: str = "docker"


@dataclass(frozen=True)
class Document:
    """An upstream document as the edge fetched it (or served it from cache).

    `url` is the final URL after redirects, to resolve relative links against;
    `stale` says it came from the cache because the upstream failed.
    """

    url: str
    status: int
    content_type: str
    body: bytes
    stale: bool = False


@dataclass(frozen=True)
class Fetch:
    """Answer from an upstream document: the edge fetches `url` (through its
    cache, sending `headers`) and calls `then` with the Document, or with None
    when the upstream failed and nothing is cached. `then` is pure and returns
    the final Outcome, which must not be another Fetch."""

    url: str
    then: Callable[[Document | None], Outcome]
    headers: tuple[tuple[str, str], ...] = ()


Response = Redirect | Respond | Proxy | Fetch


@dataclass(frozen=True)
class Capture:
    """One analytics record produced by a rule.

    `kind` is one of file, docker, python, pixel, telemetry; `fields` holds the
    variant's fields named as in the reference (absolute_url, variables,
    body_variables, image, reference, backend_registry, auto_create, version,
    file_name, backend_url, pixel_id, event).
    """

    kind: str
    package: str | None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    response: Response
    captures: tuple[Capture, ...] = ()
    rule_type: str | None = None
    rule_ref: str = ""

    @property
    def status(self) -> int:
        if isinstance(self.response, Proxy | Fetch):
            return 0  # known only once the upstream answers
        return self.response.status


NAME_UNKNOWN_BODY = (
    b'{"errors":[{"code":"NAME_UNKNOWN","detail":{},'
    b'"message":"repository name not known to registry"}]}'
)


def not_found_response(request: Request) -> Respond:
    """The reference's 404 when no rule claims a request (GATEWAY-REFERENCE §3.5)."""
    segments = decode_segments(request.raw_path)
    if segments[:2] == ["v2", "_catalog"]:
        return Respond(404)
    if segments[:1] == ["v2"]:
        return Respond(404, (("Content-Type", "application/json"),), NAME_UNKNOWN_BODY)
    return Respond(404)


def not_found(request: Request) -> Outcome:
    return Outcome(not_found_response(request))
