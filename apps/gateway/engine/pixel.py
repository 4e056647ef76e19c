"""pixel-v1: a tracking pixel, a 1×1 transparent PNG whose fetches are counted.

The reference has the pixel only in code (GATEWAY-REFERENCE §10.1); we make it
a manifest rule type (GATEWAY-DECISIONS §7, §9) with `domain`, `package-id`
and an optional `incoming-path` (default `/a.png`).
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

from .http import Request
from .outcome import Capture, Outcome, Respond
from .paths import decode_segments
from .query import parse_query
from .rules import ORDER_PIXEL, FieldError, Rule, optional_str, required_str

DEFAULT_PATH = "/a.png"
PIXEL_ID_PARAMETER = "x-pxid"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


# 1×1, 8-bit RGBA; one scanline: filter byte 0, then a pixel with alpha 0.
TRANSPARENT_PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00\x00\x00\x00"))
    + _png_chunk(b"IEND", b"")
)

PIXEL_HEADERS = (
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Content-Length", str(len(TRANSPARENT_PNG))),
    ("Content-Type", "image/png"),
)


@dataclass(frozen=True)
class PixelRule(Rule):
    """GET (or HEAD) of a path under `incoming_path` answers the pixel and records its id."""

    type: ClassVar[str] = "pixel-v1"
    order: ClassVar[int] = ORDER_PIXEL

    package_id: str
    incoming_path: str = DEFAULT_PATH

    @cached_property
    def segments(self) -> list[str]:
        return decode_segments(self.incoming_path)

    def match(self, request: Request) -> Outcome | None:
        if request.method not in ("GET", "HEAD"):
            return None
        if decode_segments(request.raw_path)[: len(self.segments)] != self.segments:
            return None
        body = b"" if request.method == "HEAD" else TRANSPARENT_PNG
        capture = Capture(
            kind="pixel",
            package=self.package_id,
            fields={"pixel_id": pixel_id(request.raw_query)},
        )
        return Outcome(
            Respond(200, PIXEL_HEADERS, body), (capture,), rule_type=self.type, rule_ref=self.ref
        )

    def merge_with(self, other: Rule) -> Rule | None:
        """Identical adjacent pixel rules collapse into the first (GATEWAY-REFERENCE §3.4)."""
        return self if other == self else None

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> PixelRule:
        incoming_path = optional_str(data, "incoming-path", DEFAULT_PATH)
        if not decode_segments(incoming_path):
            # The pixel sorts before file rules: an empty path would take every GET.
            raise FieldError("incoming-path", "must name at least one path segment")
        return cls(
            domain=required_str(data, "domain"),
            package_id=required_str(data, "package-id"),
            incoming_path=incoming_path,
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {"package-id": self.package_id, "incoming-path": self.incoming_path}


def pixel_id(raw_query: str | None) -> str:
    """The first `x-pxid` value, decoded; "" when it is missing or has no value."""
    for key, value in parse_query(raw_query):
        if key == PIXEL_ID_PARAMETER:
            return value or ""
    return ""
