"""python-v1: a PEP 503 / PEP 691 "simple" repository served from the rules themselves.

Each python-v1 rule names one file of one project. Adjacent rules of a domain
merge into one `PythonRepository` (GATEWAY-REFERENCE §8.4), keyed by the PEP 503
normalised project name (GATEWAY-DECISIONS §4). Its pages are rendered once,
with their ETags, and then only read: a request picks a page, it never builds one.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from html import escape
from typing import Any, ClassVar
from urllib.parse import quote

from .http import Request
from .outcome import Capture, Outcome, Redirect, Respond
from .paths import decode_segments
from .rules import (
    ORDER_PYTHON,
    FieldError,
    Rule,
    optional_bool,
    optional_str,
    required_str,
    without_none,
)

RULE_TYPE = "python-v1"

# ETag prefixes: the HTML ones are the reference's (§8.3); the JSON ones are ours,
# so that an HTML page and its JSON twin never share a tag.
ROOT_HTML_TAG = b"scarf-python-rule"
PROJECT_HTML_TAG = b"scarf-python-package"
ROOT_JSON_TAG = b"scarf-python-rule-json"
PROJECT_JSON_TAG = b"scarf-python-package-json"

TEXT_HTML = "text/html"
SIMPLE_HTML = "application/vnd.pypi.simple.v1+html"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"

# The Content-Types we answer with. On equal quality the earlier one wins, so
# `*/*` (curl, browsers) gets HTML.
OFFERS = (TEXT_HTML, SIMPLE_HTML, SIMPLE_JSON)

# PEP 691's `latest` names, which a client may ask for instead of the version.
LATEST = {
    "application/vnd.pypi.simple.latest+html": SIMPLE_HTML,
    "application/vnd.pypi.simple.latest+json": SIMPLE_JSON,
}

JSON_META = {"api-version": "1.0"}

# Characters kept as they are in a link's path segment (RFC 3986 pchar, besides
# the unreserved ones `quote` always keeps); everything else is percent-encoded.
SEGMENT_SAFE = "!$&'()*+,;=:@"

_SEPARATOR_RUNS = re.compile(r"[-_.]+")


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: `Foo.Bar_baz` -> `foo-bar-baz`."""
    return _SEPARATOR_RUNS.sub("-", name).lower()


def page_etag(*parts: bytes) -> str:
    """base64url (padded) SHA-256 of the concatenated parts, as the reference tags pages."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"".join(parts)).digest()).decode("ascii")


@dataclass(frozen=True)
class HashValue:
    """A file's digest, rendered as the `#type=hash` fragment of its link."""

    type: str
    hash: str

    @classmethod
    def from_manifest(cls, data: Any) -> HashValue:
        if not isinstance(data, Mapping):
            raise FieldError("hash-value", "must be an object")
        try:
            return cls(type=required_str(data, "type"), hash=required_str(data, "hash"))
        except FieldError as error:
            raise FieldError(f"hash-value.{error.field}", error.reason) from None

    def to_manifest(self) -> dict[str, str]:
        return {"type": self.type, "hash": self.hash}


@dataclass(frozen=True)
class PythonFileRule(Rule):
    """One file of a project (manifest type `python-v1`).

    `sort_key` stays the base's `()`, so python rules keep manifest order when
    sorted: the first rule for a file name or a project is the one that counts.
    Alone it serves as a one-file repository; next to another it merges.
    """

    type: ClassVar[str] = RULE_TYPE
    order: ClassVar[int] = ORDER_PYTHON

    package_name: str
    file_name: str
    version: str
    backend_url: str
    package_id: str
    hash_value: HashValue | None = None
    gpg_sig: bool | None = None
    requires_python: str | None = None
    backend_simple_index_url: str | None = None  # kept for round trips; not served yet

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> PythonFileRule:
        hash_value = data.get("hash-value")
        return cls(
            required_str(data, "domain"),
            package_name=required_str(data, "package-name"),
            file_name=required_str(data, "file-name"),
            version=required_str(data, "version"),
            backend_url=required_str(data, "backend-url"),
            package_id=required_str(data, "package-id"),
            hash_value=None if hash_value is None else HashValue.from_manifest(hash_value),
            gpg_sig=None if data.get("gpg-sig") is None else optional_bool(data, "gpg-sig"),
            requires_python=optional_str(data, "requires-python"),
            backend_simple_index_url=optional_str(data, "backend-simple-index-url"),
        )

    def to_manifest(self) -> dict[str, Any]:
        return without_none(
            {
                "type": self.type,
                "domain": self.domain,
                "package-name": self.package_name,
                "file-name": self.file_name,
                "version": self.version,
                "backend-url": self.backend_url,
                "package-id": self.package_id,
                "hash-value": self.hash_value and self.hash_value.to_manifest(),
                "gpg-sig": self.gpg_sig,
                "requires-python": self.requires_python,
                "backend-simple-index-url": self.backend_simple_index_url,
            }
        )

    def merge_with(self, other: Rule) -> Rule | None:
        """Adjacent python-v1 rules always merge into one repository (§3.4)."""
        if not isinstance(other, PythonFileRule):
            return None
        return PythonRepository(self.domain, rules=(self, other))

    @cached_property
    def repository(self) -> PythonRepository:
        return PythonRepository(self.domain, rules=(self,))

    def match(self, request: Request) -> Outcome | None:
        return self.repository.match(request)


@dataclass(frozen=True)
class Page:
    """One representation of a page: its bytes and its (unquoted) ETag."""

    body: bytes
    etag: str


@dataclass(frozen=True)
class Pages:
    """The HTML and the PEP 691 JSON form of one page."""

    html: Page
    json: Page

    def for_content_type(self, content_type: str) -> Page:
        return self.json if content_type == SIMPLE_JSON else self.html


@dataclass(frozen=True)
class PythonProject:
    """A project as served: `name` is normalised (the key and the URL segment),
    `display_name`, `package_id` and `ref` come from its first rule, `files` maps
    each file name to the first rule giving it, sorted by file name."""

    name: str
    display_name: str
    package_id: str
    ref: str
    files: Mapping[str, PythonFileRule]
    pages: Pages

    @classmethod
    def build(cls, rules: list[PythonFileRule]) -> PythonProject:
        first = rules[0]
        name = normalize_name(first.package_name)
        by_name: dict[str, PythonFileRule] = {}
        for rule in rules:
            by_name.setdefault(rule.file_name, rule)
        files = dict(sorted(by_name.items()))
        return cls(
            name=name,
            display_name=first.package_name,
            package_id=first.package_id,
            ref=first.ref,
            files=files,
            pages=project_pages(name, first.package_name, list(files.values())),
        )

    @property
    def url(self) -> str:
        return project_url(self.name)


@dataclass(frozen=True)
class PythonIndex:
    """Every project of a repository, sorted by name, and the root page."""

    projects: Mapping[str, PythonProject]
    root: Pages

    @classmethod
    def build(cls, rules: Iterable[PythonFileRule]) -> PythonIndex:
        grouped: dict[str, list[PythonFileRule]] = {}
        for rule in rules:
            grouped.setdefault(normalize_name(rule.package_name), []).append(rule)
        projects = {name: PythonProject.build(grouped[name]) for name in sorted(grouped)}
        return cls(projects=projects, root=root_pages(list(projects.values())))

    def find(self, name: str) -> PythonProject | None:
        """The project `name` names, exactly or once normalised."""
        return self.projects.get(name) or self.projects.get(normalize_name(name))


@dataclass(frozen=True)
class PythonRepository(Rule):
    """All python-v1 rules of a domain, in manifest order, served as one index.

    The index is built on first use and then reused: building it on every
    merge would make compiling a domain of n files cost n² renderings.
    """

    type: ClassVar[str] = RULE_TYPE
    order: ClassVar[int] = ORDER_PYTHON

    rules: tuple[PythonFileRule, ...]

    def merge_with(self, other: Rule) -> Rule | None:
        if not isinstance(other, PythonFileRule):
            return None
        return PythonRepository(self.domain, rules=(*self.rules, other))

    @cached_property
    def index(self) -> PythonIndex:
        return PythonIndex.build(self.rules)

    def match(self, request: Request) -> Outcome | None:
        """Serve §8.1 as amended by GATEWAY-DECISIONS §4; None declines."""
        if request.method not in ("GET", "HEAD"):
            return None
        segments = decode_segments(request.raw_path)
        if segments == ["simple"]:
            return Outcome(Redirect("/simple/", 301), (python_capture(None),), RULE_TYPE)
        if segments == ["simple", ""]:
            return page_outcome(request, self.index.root, python_capture(None), "")
        if len(segments) != 3 or segments[0] != "simple":
            return None
        return self.match_project(request, segments[1], segments[2])

    def match_project(self, request: Request, name: str, file_name: str) -> Outcome | None:
        project = self.index.find(name)
        if project is None or (file_name and file_name not in project.files):
            return None
        capture = python_capture(project.package_id)
        if name != project.name:
            location = project.url + quote_segment(file_name)
            return Outcome(Redirect(location, 301), (capture,), RULE_TYPE, project.ref)
        if not file_name:
            return page_outcome(request, project.pages, capture, project.ref)
        return download_outcome(project, project.files[file_name])


# Rendering. Every name is percent-encoded in URLs and HTML-escaped in markup.


def quote_segment(text: str) -> str:
    return quote(text, safe=SEGMENT_SAFE, errors="replace")


def project_url(name: str) -> str:
    return f"/simple/{quote_segment(name)}/"


def encode(text: str) -> bytes:
    """UTF-8, with a lone surrogate (possible in JSON input) replaced, not raised."""
    return text.encode("utf-8", errors="replace")


def json_body(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode("ascii")


def root_pages(projects: list[PythonProject]) -> Pages:
    links = "".join(
        f'<a href="{escape(project.url)}">{escape(project.display_name)}</a><br>\n'
        for project in projects
    )
    html = encode(f"<!DOCTYPE html><html><body>\n{links}</body></html>")
    names = [{"name": project.display_name} for project in projects]
    data = json_body({"meta": JSON_META, "projects": names})
    return Pages(
        html=Page(html, page_etag(ROOT_HTML_TAG, html)),
        json=Page(data, page_etag(ROOT_JSON_TAG, data)),
    )


def project_pages(name: str, display_name: str, files: list[PythonFileRule]) -> Pages:
    base = project_url(name)
    lines = "".join(file_link(base, rule) for rule in files)
    html = encode(
        f"<!DOCTYPE html><html><body><h1>{escape(display_name)}</h1>\n{lines}</body></html>"
    )
    entries = [file_entry(base, rule) for rule in files]
    data = json_body({"meta": JSON_META, "name": name, "files": entries})
    backend_urls = b"".join(encode(rule.backend_url) for rule in files)
    return Pages(
        html=Page(html, page_etag(PROJECT_HTML_TAG, backend_urls, html)),
        json=Page(data, page_etag(PROJECT_JSON_TAG, backend_urls, data)),
    )


def file_link(base: str, rule: PythonFileRule) -> str:
    href = base + quote_segment(rule.file_name)
    if rule.hash_value is not None:
        href += f"#{rule.hash_value.type}={rule.hash_value.hash}"
    attributes = f'href="{escape(href)}"'
    if rule.gpg_sig is not None:
        attributes += f' data-gpg-sig="{"true" if rule.gpg_sig else "false"}"'
    if rule.requires_python is not None:
        attributes += f' data-requires-python="{escape(rule.requires_python)}"'
    return f"<a {attributes}>{escape(rule.file_name)}</a><br>\n"


def file_entry(base: str, rule: PythonFileRule) -> dict[str, Any]:
    """A PEP 691 file object."""
    hashes = {} if rule.hash_value is None else {rule.hash_value.type: rule.hash_value.hash}
    return without_none(
        {
            "filename": rule.file_name,
            "url": base + quote_segment(rule.file_name),
            "hashes": hashes,
            "requires-python": rule.requires_python,
            "gpg-sig": rule.gpg_sig,
        }
    )


# Answering.


def python_capture(package: str | None, rule: PythonFileRule | None = None) -> Capture:
    return Capture(
        kind="python",
        package=package,
        fields={
            "version": rule and rule.version,
            "file_name": rule and rule.file_name,
            "backend_url": rule and rule.backend_url,
        },
    )


def download_outcome(project: PythonProject, rule: PythonFileRule) -> Outcome:
    """HEAD answers like GET (GATEWAY-DECISIONS §4); the query is not forwarded."""
    capture = python_capture(project.package_id, rule)
    return Outcome(Redirect(rule.backend_url), (capture,), RULE_TYPE, rule.ref)


def page_outcome(request: Request, pages: Pages, capture: Capture, ref: str) -> Outcome:
    """200 with the negotiated form of the page, or 304 when the client has it."""
    content_type = negotiate(request.header_values("accept"))
    page = pages.for_content_type(content_type)
    etag = f'"{page.etag}"'
    if none_match(request.header_values("if-none-match"), page.etag):
        response = Respond(304, (("etag", etag), ("Vary", "Accept")))
    else:
        headers = (
            ("Etag", etag),
            ("Content-Length", str(len(page.body))),
            ("Content-Type", content_type),
            ("Vary", "Accept"),
        )
        response = Respond(200, headers, b"" if request.method == "HEAD" else page.body)
    return Outcome(response, (capture,), RULE_TYPE, ref)


def none_match(header_values: list[str], etag: str) -> bool:
    """If-None-Match with weak comparison: `W/"x"` matches `"x"`, `*` matches any."""
    for item in ",".join(header_values).split(","):
        tag = item.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/")
        if len(tag) >= 2 and tag.startswith('"') and tag.endswith('"'):
            tag = tag[1:-1]
        if tag == etag:
            return True
    return False


def negotiate(header_values: list[str]) -> str:
    """The Content-Type to answer with, from the Accept header lines.

    Each offer takes the quality of the most specific range that covers it
    (the higher one when two are equally specific); the best quality above 0
    wins, ties going to the earlier offer. When nothing acceptable is offered,
    HTML (PEP 691 lets a server pick a default).
    """
    items = ",".join(header_values).split(",")
    ranges = [parsed for item in items if (parsed := media_range(item))]
    best, best_quality = TEXT_HTML, 0.0
    for content_type in OFFERS:
        quality = offer_quality(content_type, ranges)
        if quality > best_quality:
            best, best_quality = content_type, quality
    return best


MediaRange = tuple[str, str, float]


def media_range(item: str) -> MediaRange | None:
    """`type/subtype;q=0.5` -> (type, subtype, 0.5); None when malformed.

    A `latest` name is read as the version it currently means.
    """
    media, *parameters = item.split(";")
    media = media.strip().lower()
    main, slash, sub = LATEST.get(media, media).partition("/")
    if not slash or not main or not sub:
        return None
    quality = 1.0
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
    if not 0.0 <= quality <= 1.0:
        return None
    return main, sub, quality


def offer_quality(media_type: str, ranges: list[MediaRange]) -> float:
    main, _, sub = media_type.partition("/")
    specificity, quality = -1, 0.0
    for range_main, range_sub, range_quality in ranges:
        if (range_main, range_sub) == (main, sub):
            rank = 2
        elif (range_main, range_sub) == (main, "*"):
            rank = 1
        elif (range_main, range_sub) == ("*", "*"):
            rank = 0
        else:
            continue
        if (rank, range_quality) > (specificity, quality):
            specificity, quality = rank, range_quality
    return quality
