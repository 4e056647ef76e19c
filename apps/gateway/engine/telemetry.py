"""telemetry-v1: an endpoint that collects JSON events POSTed by a tenant's software.

As the reference (GATEWAY-REFERENCE §9), with GATEWAY-DECISIONS §7: access
tokens are stored only as `sha256:<hex>` digests and compared in constant time,
and a body above the size or event limit is refused with 413 instead of being
silently truncated.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from itertools import islice
from typing import Any, ClassVar

from .bodies import iter_json_objects
from .http import Request
from .outcome import Capture, Outcome, Respond
from .paths import decode_segments
from .rules import (
    ORDER_TELEMETRY,
    Rule,
    optional_str_list,
    required_str,
)

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 100

_HASHED_TOKEN = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_BEARER = "Bearer "


def token_digest(token: str) -> str:
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()


def stored_token(token: str) -> str:
    """The form a manifest token is kept in: its digest.

    An entry that already is a digest (`sha256:<64 lower-case hex>`) is kept as
    it is, so an exported manifest imports back unchanged.
    """
    return token if _HASHED_TOKEN.fullmatch(token) else token_digest(token)


@dataclass(frozen=True)
class TelemetryRule(Rule):
    """POSTs to `incoming_path` become one telemetry capture per JSON object in the body.

    `access_tokens` None lets anyone post; otherwise a `Bearer` token whose
    digest is in the tuple is required (so `()` lets nobody post).
    """

    type: ClassVar[str] = "telemetry-v1"
    order: ClassVar[int] = ORDER_TELEMETRY

    package_id: str
    incoming_path: str
    access_tokens: tuple[str, ...] | None = None
    max_body_bytes: int = field(default=MAX_BODY_BYTES, kw_only=True)
    max_events: int = field(default=MAX_EVENTS, kw_only=True)

    @cached_property
    def segments(self) -> list[str]:
        return decode_segments(self.incoming_path)

    def match(self, request: Request) -> Outcome | None:
        if request.method != "POST" or decode_segments(request.raw_path) != self.segments:
            return None
        if not self.authorised(request.header("authorization")):
            return self.answer(401)
        body = request.read_body(self.max_body_bytes + 1)
        if len(body) > self.max_body_bytes:
            return self.answer(413)
        events = list(islice(iter_json_objects(body), self.max_events + 1))
        if len(events) > self.max_events:
            return self.answer(413)
        captures = tuple(
            Capture(kind="telemetry", package=self.package_id, fields={"event": event})
            for event in events
        )
        return self.answer(200, captures)

    def authorised(self, authorization: str | None) -> bool:
        """Checked before the body is read: `Bearer <token>`, the token trimmed."""
        if self.access_tokens is None:
            return True
        if authorization is None or not authorization.startswith(_BEARER):
            return False
        presented = token_digest(authorization[len(_BEARER) :].strip())
        return any(hmac.compare_digest(presented, stored) for stored in self.access_tokens)

    def answer(self, status: int, captures: tuple[Capture, ...] = ()) -> Outcome:
        return Outcome(Respond(status), captures, rule_type=self.type, rule_ref=self.ref)

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> TelemetryRule:
        tokens = optional_str_list(data, "access-tokens")
        return cls(
            domain=required_str(data, "domain"),
            package_id=required_str(data, "package-id"),
            incoming_path=required_str(data, "incoming-path"),
            access_tokens=None if tokens is None else tuple(stored_token(t) for t in tokens),
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "package-id": self.package_id,
            "incoming-path": self.incoming_path,
            "access-tokens": None if self.access_tokens is None else list(self.access_tokens),
        }
