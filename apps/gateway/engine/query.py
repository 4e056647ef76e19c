"""Query strings: parsed and re-encoded the way the reference does it."""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

QueryItem = tuple[str, str | None]

UNRESERVED = "-_.~"  # plus ASCII letters and digits, which quote() never escapes


def parse_query(raw_query: str | None) -> list[QueryItem]:
    """Parse a raw query into (key, value) pairs, in order.

    Pairs are separated by `&` or `;`; `+` means a space; `%XX` is decoded
    (leniently as UTF-8). A piece without `=` gives value None, and an empty
    piece between two separators gives `("", None)` as in the reference; a
    trailing separator adds nothing. A leading `?` is ignored.
    """
    if raw_query and raw_query.startswith("?"):
        raw_query = raw_query[1:]
    if not raw_query:
        return []
    pieces = raw_query.replace(";", "&").split("&")
    if pieces[-1] == "":
        pieces.pop()
    items: list[QueryItem] = []
    for piece in pieces:
        key, sep, value = piece.partition("=")
        items.append((form_decode(key), form_decode(value) if sep else None))
    return items


def form_decode(raw: str) -> str:
    return unquote_to_bytes(raw.replace("+", " ")).decode("utf-8", errors="replace")


def encode_strict(value: str) -> str:
    """Percent-encode everything except `A-Z a-z 0-9 - _ . ~` (upper-case hex)."""
    return quote(value, safe=UNRESERVED)


def render_query(items: list[QueryItem]) -> str:
    """Render pairs as `k=v&k2&...` (no leading `?`), strictly encoded."""
    return "&".join(
        encode_strict(key) if value is None else f"{encode_strict(key)}={encode_strict(value)}"
        for key, value in items
    )
