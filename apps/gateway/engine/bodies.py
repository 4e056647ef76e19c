"""Request bodies read as a stream of JSON objects (file-v1 events, telemetry)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

_decoder = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def iter_json_objects(data: bytes) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a whitespace-separated stream of JSON values.

    Values that are not objects are skipped; parsing stops at the first error
    (a truncated object, a `,` between values, invalid UTF-8 inside a value).
    """
    text = data.decode("utf-8", errors="replace")
    position = 0
    while True:
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position >= len(text):
            return
        try:
            value, position = _decoder.raw_decode(text, position)
        except ValueError:
            return
        if isinstance(value, dict):
            yield value
