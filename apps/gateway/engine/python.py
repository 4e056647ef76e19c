"""A domain's PEP 503 / PEP 691 "simple" repository, and the python-v1 rule type.

Each python-v1 rule names one file of one project; each python-index-v1 rule
(python_index.py) names a project served from an upstream index. Adjacent
python rules of a domain, of either type, merge into one `PythonRepository`
(GATEWAY-REFERENCE §8.4) keyed by the PEP 503 normalised project name
(GATEWAY-DECISIONS §4): one root page lists every project, and a project may
hold both files of its own and an upstream index (GATEWAY-DECISIONS §9).

Pages built from rules alone are rendered once, with their ETags, and then
only read. A project with an upstream index answers through `Fetch`: its page
is rendered from the fetched upstream page, by the same renderer.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from html import escape
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from .http import Request
from .outcome import Capture, Document, Fetch, Outcome, Redirect, Respond
from .paths import decode_segments
from .python_upstream import Hashes, SimpleFile, read_project_page
from .rules import (
    ORDER_PYTHON,
    FieldError,
    Rule,
    check_http_url,
    optional_bool,
    optional_str,
    required_str,
    without_none,
)

if TYPE_CHECKING:
    from .backends import BackendSet

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

# What we ask an upstream index for: PEP 691 JSON preferred, HTML accepted.
UPSTREAM_ACCEPT = (("Accept", f"{SIMPLE_JSON}, {SIMPLE_HTML};q=0.2, {TEXT_HTML};q=0.01"),)

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

ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar", ".tgz", ".zip")


def normalize_name(name: str) -> str:
    """PEP 503 normalisation: `Foo.Bar_baz` -> `foo-bar-baz`."""
    return _SEPARATOR_RUNS.sub("-", name).lower()


def index_base(url: str | None) -> str | None:
    """`url` with a trailing `/` when it is an absolute http(s) URL; else None."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return url if url.endswith("/") else url + "/"


def file_version(project: str, file_name: str) -> str | None:
    """The version a distribution file name carries, for the download capture.

    Wheels and eggs put it in the second dash-separated field; an sdist is
    `<name>-<version>.<archive>` where the name may itself hold dashes, so
    the version follows the prefix that normalises to the project name.
    """
    if file_name.endswith((".whl", ".egg")):
        parts = file_name.split("-")
        return parts[1] if len(parts) >= 3 else None
    suffix = next((s for s in ARCHIVE_SUFFIXES if file_name.endswith(s)), None)
    if suffix is None:
        return None
    stem = file_name.removesuffix(suffix)
    for position, character in enumerate(stem):
        if character == "-" and normalize_name(stem[:position]) == normalize_name(project):
            return stem[position + 1 :] or None
    name, dash, version = stem.rpartition("-")
    return version if dash and name and version else None


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
class PythonRule(Rule):
    """What python-v1 and python-index-v1 rules share: a project name, a
    package id, maybe an upstream index (`index_url`), and the repository
    they are served by.

    `sort_key` stays the base's `()`, so python rules of both types keep
    manifest order when sorted and sit next to each other: adjacent ones
    merge into one repository, where the first rule for a file name or a
    project is the one that counts. Alone, a rule is a one-rule repository.
    """

    order: ClassVar[int] = ORDER_PYTHON

    package_name: str
    package_id: str
    # Alternate backends (apps/gateway/engine/backends.py): python rules are
    # not wrapped, as the repository merges them; it chooses per request.
    backend_set: BackendSet | None = field(default=None, kw_only=True, compare=False)

    @property
    def index_url(self) -> str | None:
        """Base URL of the upstream simple index to serve this project from."""
        return None

    def with_backend_set(self, backends: BackendSet) -> PythonRule:
        return replace(self, backend_set=backends)

    @property
    def any_index_url(self) -> bool:
        """Whether this rule, or one of its alternates, names an upstream index."""
        if self.index_url:
            return True
        alternates = self.backend_set.alternates if self.backend_set else ()
        return any(alternate.rule.index_url for alternate in alternates)

    def merge_with(self, other: Rule) -> Rule | None:
        """Adjacent python rules of either type merge into one repository (§3.4)."""
        if not isinstance(other, PythonRule):
            return None
        return PythonRepository(self.domain, rules=(self, other))

    @cached_property
    def repository(self) -> PythonRepository:
        return PythonRepository(self.domain, rules=(self,))

    def match(self, request: Request) -> Outcome | None:
        return self.repository.match(request)


@dataclass(frozen=True)
class PythonFileRule(PythonRule):
    """One file of a project (manifest type `python-v1`).

    When it carries an absolute http(s) `backend-simple-index-url`, its
    project is also served from that index for the files no rule lists
    (GATEWAY-DECISIONS §9). Any other value is kept for round trips and
    ignored, as the reference ignores it: such manifests still import.
    """

    type: ClassVar[str] = RULE_TYPE

    file_name: str
    version: str
    backend_url: str
    hash_value: HashValue | None = None
    gpg_sig: bool | None = None
    requires_python: str | None = None
    backend_simple_index_url: str | None = None

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> PythonFileRule:
        hash_value = data.get("hash-value")
        return cls(
            required_str(data, "domain"),
            package_name=required_str(data, "package-name"),
            file_name=required_str(data, "file-name"),
            version=required_str(data, "version"),
            backend_url=check_http_url(required_str(data, "backend-url"), "backend-url"),
            package_id=required_str(data, "package-id"),
            hash_value=None if hash_value is None else HashValue.from_manifest(hash_value),
            gpg_sig=None if data.get("gpg-sig") is None else optional_bool(data, "gpg-sig"),
            requires_python=optional_str(data, "requires-python"),
            backend_simple_index_url=optional_str(data, "backend-simple-index-url"),
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {
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

    @property
    def index_url(self) -> str | None:
        return index_base(self.backend_simple_index_url)

    @cached_property
    def listing(self) -> SimpleFile:
        """The file as the project page lists it."""
        hashes = () if self.hash_value is None else ((self.hash_value.type, self.hash_value.hash),)
        return SimpleFile(
            file_name=self.file_name,
            url=self.backend_url,
            hashes=hashes,
            requires_python=self.requires_python,
            gpg_sig=self.gpg_sig,
        )


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
    `display_name`, `package_id`, `rule_type` and `ref` come from its first rule,
    `files` maps each file name to the first python-v1 rule giving it, sorted by
    file name, `index_url` is the first upstream index its rules name (None:
    served from its own files only) and `pages` lists its own files.
    `index_backends` are the alternates of the rule giving the index, when it
    has some: each request then chooses its index among them."""

    name: str
    display_name: str
    package_id: str
    rule_type: str
    ref: str
    files: Mapping[str, PythonFileRule]
    index_url: str | None
    pages: Pages
    index_backends: BackendSet | None = None

    @classmethod
    def build(cls, rules: list[PythonRule]) -> PythonProject:
        first = rules[0]
        name = normalize_name(first.package_name)
        by_name: dict[str, PythonFileRule] = {}
        for rule in rules:
            if isinstance(rule, PythonFileRule):
                by_name.setdefault(rule.file_name, rule)
        files = dict(sorted(by_name.items()))
        index_rule = next((rule for rule in rules if rule.any_index_url), None)
        return cls(
            name=name,
            display_name=first.package_name,
            package_id=first.package_id,
            rule_type=first.type,
            ref=first.ref,
            files=files,
            index_url=next((rule.index_url for rule in rules if rule.index_url), None),
            pages=project_pages(name, first.package_name, own_listing(files)),
            index_backends=index_rule.backend_set if index_rule else None,
        )

    @property
    def url(self) -> str:
        return project_url(self.name)

    def serves(self, file_name: str) -> bool:
        """Whether a request for `file_name` ("" for the page) is this project's
        to answer; a file of the upstream index is known only once fetched."""
        return (
            not file_name
            or file_name in self.files
            or self.index_url is not None
            or self.index_backends is not None
        )

    def choose_index(self) -> tuple[str | None, Callable[[Outcome], Outcome]]:
        """The upstream index for this request, and how to mark its outcome
        with the backend chosen (nothing to mark without alternates)."""
        backends = self.index_backends
        if backends is None:
            return self.index_url, _unmarked
        index = backends.choose()
        index_url = backends.variant(index).index_url or self.index_url
        return index_url, partial(backends.tag, index=index)

    def outcome(self, response: Redirect | Respond | Fetch, capture: Capture) -> Outcome:
        return Outcome(response, (capture,), self.rule_type, self.ref)

    def fetch(self, index_url: str, then: Callable[[Document | None], Outcome]) -> Outcome:
        """Answer from the upstream project page: `then(document_or_None)` decides."""
        url = f"{index_url}{quote_segment(self.name)}/"
        return self.outcome(Fetch(url, then, UPSTREAM_ACCEPT), python_capture(self.package_id))


@dataclass(frozen=True)
class PythonIndex:
    """Every project of a repository, sorted by name, and the root page."""

    projects: Mapping[str, PythonProject]
    root: Pages

    @classmethod
    def build(cls, rules: Iterable[PythonRule]) -> PythonIndex:
        grouped: dict[str, list[PythonRule]] = {}
        for rule in rules:
            grouped.setdefault(normalize_name(rule.package_name), []).append(rule)
        projects = {name: PythonProject.build(grouped[name]) for name in sorted(grouped)}
        return cls(projects=projects, root=root_pages(list(projects.values())))

    def find(self, name: str) -> PythonProject | None:
        """The project `name` names, exactly or once normalised."""
        return self.projects.get(name) or self.projects.get(normalize_name(name))


@dataclass(frozen=True)
class PythonRepository(Rule):
    """All python rules of a domain (python-v1 and python-index-v1), in
    manifest order, served as one index.

    The index is built on first use and then reused: building it on every
    merge would make compiling a domain of n files cost n² renderings.
    """

    type: ClassVar[str] = RULE_TYPE
    order: ClassVar[int] = ORDER_PYTHON

    rules: tuple[PythonRule, ...]

    def merge_with(self, other: Rule) -> Rule | None:
        if not isinstance(other, PythonRule):
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
        rule_type = self.rules[0].type
        if segments == ["simple"]:
            return Outcome(Redirect("/simple/", 301), (python_capture(None),), rule_type)
        if segments == ["simple", ""]:
            return page_outcome(request, self.index.root, python_capture(None), rule_type, "")
        if len(segments) != 3 or segments[0] != "simple":
            return None
        return self.match_project(request, segments[1], segments[2])

    def match_project(self, request: Request, name: str, file_name: str) -> Outcome | None:
        project = self.index.find(name)
        if project is None or not project.serves(file_name):
            return None
        capture = python_capture(project.package_id)
        if name != project.name:
            location = project.url + quote_segment(file_name)
            return project.outcome(Redirect(location, 301), capture)
        if file_name in project.files:
            return download_outcome(project, project.files[file_name])
        index_url, mark = project.choose_index()
        if not file_name:
            if index_url is None:
                own = page_outcome(request, project.pages, capture, project.rule_type, project.ref)
                return mark(own)
            return mark(project.fetch(index_url, partial(upstream_page_outcome, request, project)))
        if index_url is None:
            return mark(project.outcome(Respond(404), capture))
        return mark(project.fetch(index_url, partial(upstream_file_outcome, project, file_name)))


def _unmarked(outcome: Outcome) -> Outcome:
    return outcome


# Answering from an upstream project page: pure functions of the fetched Document.


def upstream_listing(document: Document | None) -> list[SimpleFile] | Respond:
    """The files upstream lists, or the response to give instead: 404 when
    upstream has no such project, 502 when it failed with nothing cached or
    answered something that is not a project page."""
    if document is not None and document.status in (404, 410):
        return Respond(404)
    files = None if document is None or document.status != 200 else read_project_page(document)
    if files is None:
        return Respond(502, (("Content-Type", "text/plain"),), b"upstream index unavailable\n")
    return files


def upstream_page_outcome(
    request: Request, project: PythonProject, document: Document | None
) -> Outcome:
    """The project page: its own files, then the upstream files it does not list
    itself. When upstream cannot answer, a project with files of its own still
    serves them; one without answers upstream's error."""
    capture = python_capture(project.package_id)
    listing = upstream_listing(document)
    if isinstance(listing, Respond):
        if not project.files:
            return project.outcome(listing, capture)
        listing = []
    by_name = {rule.file_name: rule.listing for rule in project.files.values()}
    for file in listing:
        by_name.setdefault(file.file_name, file)
    files = [by_name[file_name] for file_name in sorted(by_name)]
    pages = project_pages(project.name, project.display_name, files)
    return page_outcome(request, pages, capture, project.rule_type, project.ref)


def upstream_file_outcome(
    project: PythonProject, file_name: str, document: Document | None
) -> Outcome:
    """307 to the upstream file, or to its PEP 658 metadata for `<file>.metadata`
    when upstream offers it; 404 when upstream lists neither."""
    listing = upstream_listing(document)
    if isinstance(listing, Respond):
        return project.outcome(listing, python_capture(project.package_id))
    by_name: dict[str, SimpleFile] = {}
    for file in listing:
        by_name.setdefault(file.file_name, file)
    if file_name in by_name:
        file = by_name[file_name]
        version = file_version(project.name, file_name)
        capture = python_capture(project.package_id, version, file_name, file.download_url)
        return project.outcome(Redirect(file.download_url), capture)
    described = by_name.get(file_name.removesuffix(".metadata"))
    capture = python_capture(project.package_id)
    if file_name.endswith(".metadata") and described and described.core_metadata is not None:
        return project.outcome(Redirect(described.download_url + ".metadata"), capture)
    return project.outcome(Respond(404), capture)


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


def own_listing(files: Mapping[str, PythonFileRule]) -> list[SimpleFile]:
    return [rule.listing for rule in files.values()]


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


def project_pages(name: str, display_name: str, files: list[SimpleFile]) -> Pages:
    """Both forms of a project page; the ETags also hash where each file
    leads, so changing a backend URL changes them (§8.3)."""
    base = project_url(name)
    lines = "".join(file_link(base, file) for file in files)
    html = encode(
        f"<!DOCTYPE html><html><body><h1>{escape(display_name)}</h1>\n{lines}</body></html>"
    )
    entries = [file_entry(base, file) for file in files]
    data = json_body({"meta": JSON_META, "name": name, "files": entries})
    backend_urls = b"".join(encode(file.url) for file in files)
    return Pages(
        html=Page(html, page_etag(PROJECT_HTML_TAG, backend_urls, html)),
        json=Page(data, page_etag(PROJECT_JSON_TAG, backend_urls, data)),
    )


def preferred_hash(hashes: Hashes) -> str | None:
    """`name=value` of the hash an HTML attribute carries: sha256 when listed, else the first."""
    for name, value in hashes:
        if name == "sha256":
            return f"{name}={value}"
    return f"{hashes[0][0]}={hashes[0][1]}" if hashes else None


def file_link(base: str, file: SimpleFile) -> str:
    """One `<a>` line: the reference's attributes first (§8.2), then PEP 658/714
    metadata and PEP 592 yanking, which only upstream files carry."""
    href = base + quote_segment(file.file_name)
    fragment = preferred_hash(file.hashes)
    if fragment is not None:
        href += f"#{fragment}"
    attributes = f'href="{escape(href)}"'
    if file.gpg_sig is not None:
        attributes += f' data-gpg-sig="{"true" if file.gpg_sig else "false"}"'
    if file.requires_python is not None:
        attributes += f' data-requires-python="{escape(file.requires_python)}"'
    if file.core_metadata is not None:
        metadata = escape(preferred_hash(file.core_metadata) or "true")
        attributes += f' data-dist-info-metadata="{metadata}" data-core-metadata="{metadata}"'
    if file.yanked is not None:
        attributes += f' data-yanked="{escape(file.yanked)}"'
    return f"<a {attributes}>{escape(file.file_name)}</a><br>\n"


def file_entry(base: str, file: SimpleFile) -> dict[str, Any]:
    """A PEP 691 file object."""
    metadata = None if file.core_metadata is None else dict(file.core_metadata) or True
    return without_none(
        {
            "filename": file.file_name,
            "url": base + quote_segment(file.file_name),
            "hashes": dict(file.hashes),
            "requires-python": file.requires_python,
            "gpg-sig": file.gpg_sig,
            "dist-info-metadata": metadata,
            "core-metadata": metadata,
            "yanked": None if file.yanked is None else file.yanked or True,
        }
    )


# Answering.


def python_capture(
    package: str | None,
    version: str | None = None,
    file_name: str | None = None,
    backend_url: str | None = None,
) -> Capture:
    return Capture(
        kind="python",
        package=package,
        fields={"version": version, "file_name": file_name, "backend_url": backend_url},
    )


def download_outcome(project: PythonProject, rule: PythonFileRule) -> Outcome:
    """HEAD answers like GET (GATEWAY-DECISIONS §4); the query is not forwarded.
    A file rule with alternates redirects to the chosen backend's URL."""
    backends, index, served_by = rule.backend_set, 0, rule
    if backends is not None:
        index = backends.choose()
        served_by = backends.variant(index)
    url = served_by.backend_url
    capture = python_capture(project.package_id, rule.version, rule.file_name, url)
    outcome = Outcome(Redirect(url), (capture,), rule.type, rule.ref)
    return outcome if backends is None else backends.tag(outcome, index)


def page_outcome(
    request: Request, pages: Pages, capture: Capture, rule_type: str, ref: str
) -> Outcome:
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
    return Outcome(response, (capture,), rule_type, ref)


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
