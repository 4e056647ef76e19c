"""Path segments, decoded the way the reference's HTTP library does it."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes


def decode_segments(raw_path: str) -> list[str]:
    """Split a raw path into percent-decoded segments.

    One leading `/` is dropped; `""` and `/` give `[]`; a trailing `/` gives a
    trailing empty segment (`/a/` -> `["a", ""]`). `+` stays `+`. Invalid
    UTF-8 decodes leniently (replacement character), as the reference does.
    """
    if raw_path in ("", "/"):
        return []
    path = raw_path[1:] if raw_path.startswith("/") else raw_path
    return [decode_component(piece) for piece in path.split("/")]


def decode_component(raw: str) -> str:
    return unquote_to_bytes(raw).decode("utf-8", errors="replace")
