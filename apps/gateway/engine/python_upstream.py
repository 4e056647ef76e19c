"""Reading an upstream PEP 503 / PEP 691 project page into the files it lists.

An index-backed project (GATEWAY-DECISIONS §4, §9) is served from a page the
edge fetched from another index. That page is untrusted input: links may be
relative (resolved against the page's URL, GATEWAY-DECISIONS §10), attributes
may carry markup, URLs may carry whitespace or control characters. What comes
out of here is plain data (`SimpleFile`), with every URL absolute, http(s) and
safe to put in a `Location` header; rendering it again is `python.py`'s job.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

from .outcome import Document

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"

# The hash names pip understands in a link fragment (`#sha256=...`).
LINK_HASHES = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})

# Characters kept as they are when cleaning an upstream URL: the reserved set
# and `%` (existing escapes stay); spaces, controls and non-ASCII get encoded.
URL_SAFE = ":/?#[]@!$&'()*+,;=%~"

Hashes = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class SimpleFile:
    """One file as a simple repository lists it.

    `url` is where a download goes (a python-v1 `backend-url` verbatim, or an
    upstream file's absolute URL). `core_metadata` is None when no PEP 658
    metadata is offered, else its hashes (empty: offered without a hash).
    `yanked` is None when not yanked, else the reason ("" for none given).
    """

    file_name: str
    url: str
    hashes: Hashes = ()
    requires_python: str | None = None
    gpg_sig: bool | None = None
    core_metadata: Hashes | None = None
    yanked: str | None = None

    @property
    def download_url(self) -> str:
        """The URL without its fragment: where a download (or `.metadata`) redirects."""
        return self.url.partition("#")[0]


def read_project_page(document: Document) -> list[SimpleFile] | None:
    """The files of a 200 project page, PEP 691 JSON or PEP 503 HTML by its
    Content-Type; None when the body cannot be read as either."""
    media_type = document.content_type.split(";")[0].strip().lower()
    if media_type == SIMPLE_JSON:
        return read_json_page(document.url, document.body)
    return read_html_page(document.url, document.body)


# PEP 691 JSON


def read_json_page(page_url: str, body: bytes) -> list[SimpleFile] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        return None
    files = (json_file(page_url, entry) for entry in data["files"] if isinstance(entry, dict))
    return [file for file in files if file is not None]


def json_file(page_url: str, entry: Mapping[str, Any]) -> SimpleFile | None:
    """A PEP 691 file object; None when its name or URL is unusable."""
    file_name, url = entry.get("filename"), entry.get("url")
    if not isinstance(file_name, str) or not file_name or not isinstance(url, str):
        return None
    absolute = absolute_url(page_url, url)
    if absolute is None:
        return None
    hashes = entry.get("hashes")
    requires_python = entry.get("requires-python")
    gpg_sig = entry.get("gpg-sig")
    return SimpleFile(
        file_name=file_name,
        url=absolute,
        hashes=string_pairs(hashes) if isinstance(hashes, dict) else (),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        gpg_sig=gpg_sig if isinstance(gpg_sig, bool) else None,
        core_metadata=json_metadata(entry),
        yanked=json_yanked(entry.get("yanked")),
    )


def json_metadata(entry: Mapping[str, Any]) -> Hashes | None:
    """PEP 714's `core-metadata`, falling back to PEP 658's `dist-info-metadata`."""
    value = entry.get("core-metadata", entry.get("dist-info-metadata"))
    if value is True:
        return ()
    if isinstance(value, dict):
        return string_pairs(value)
    return None


def json_yanked(value: Any) -> str | None:
    if value is True:
        return ""
    if isinstance(value, str) and value:
        return value
    return None


def string_pairs(data: Mapping[Any, Any]) -> Hashes:
    return tuple((key, value) for key, value in data.items() if isinstance(value, str))


# PEP 503 HTML


class AnchorCollector(HTMLParser):
    """The attributes of every `<a href>` and the first `<base href>` of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href") is not None:
            self.anchors.append(attributes)
        elif tag == "base" and self.base is None and attributes.get("href") is not None:
            self.base = attributes["href"]


def read_html_page(page_url: str, body: bytes) -> list[SimpleFile]:
    collector = AnchorCollector()
    collector.feed(body.decode("utf-8", errors="replace"))
    collector.close()
    base = page_url if collector.base is None else urljoin(page_url, collector.base)
    files = (html_file(base, anchor) for anchor in collector.anchors)
    return [file for file in files if file is not None]


def html_file(base: str, anchor: Mapping[str, str | None]) -> SimpleFile | None:
    """A PEP 503 anchor; the file name is the URL's last path segment, as pip reads it."""
    url = absolute_url(base, anchor["href"] or "")
    if url is None:
        return None
    file_name = unquote(urlsplit(url).path.rpartition("/")[2])
    if not file_name:
        return None
    metadata = anchor.get("data-core-metadata", anchor.get("data-dist-info-metadata"))
    yanked = (anchor["data-yanked"] or "") if "data-yanked" in anchor else None
    return SimpleFile(
        file_name=file_name,
        url=url,
        hashes=fragment_hash(url),
        requires_python=anchor.get("data-requires-python"),
        gpg_sig={"true": True, "false": False}.get(anchor.get("data-gpg-sig") or ""),
        core_metadata=None if metadata is None else html_metadata(metadata),
        yanked=yanked,
    )


def fragment_hash(url: str) -> Hashes:
    name, _, value = urlsplit(url).fragment.partition("=")
    return ((name, value),) if name in LINK_HASHES and value else ()


def html_metadata(value: str) -> Hashes | None:
    """`true` or `<hash name>=<value>` (PEP 658); anything else offers nothing."""
    if value == "true":
        return ()
    name, equals, digest = value.partition("=")
    return ((name, digest),) if equals and name and digest else None


# URLs


def absolute_url(base: str, href: str) -> str | None:
    """`href` resolved against `base`, cleaned; None unless http(s) with a host.

    Whitespace and control characters are percent-encoded, never kept, so
    the result cannot split a header or change meaning when redirected to.
    """
    resolved = clean_url(urljoin(base, clean_url(href.strip())))
    parts = urlsplit(resolved)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return resolved


def clean_url(url: str) -> str:
    return quote(url, safe=URL_SAFE, errors="replace")
