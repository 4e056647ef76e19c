"""npm registry rules (npm-v1): packuments served through our domain, tarballs redirected.

A rule names one package, or every package of a scope, and the backend
registry that holds it (GATEWAY-DECISIONS §5, §9). A packument request is
answered with the backend's packument (fetched and cached at the edge) whose
`dist.tarball` URLs all point back at our domain, so every tarball download
comes through us and is counted; a tarball request is then redirected to the
backend's own URL for that file, taken from the same packument. Nothing the
packument says can move a rewritten URL off our host, and a redirect only
ever goes to a tarball URL the packument lists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, unquote_to_bytes, urljoin, urlsplit

from .http import Request
from .outcome import Capture, Document, Fetch, Outcome, Redirect, Respond, Response
from .paths import decode_segments
from .rules import (
    ORDER_NPM,
    FieldError,
    Rule,
    check_http_url,
    optional_str,
    required_str,
)

ABBREVIATED = "application/vnd.npm.install-v1+json"
# What npm itself sends for abbreviated metadata: registries without it answer full JSON.
ABBREVIATED_ACCEPT = f"{ABBREVIATED}; q=1.0, application/json; q=0.8, */*"
FULL_ACCEPT = "application/json"
_JSON_TYPES = (ABBREVIATED, "application/json")

# npm package names (legacy upper-case names included): URL-safe, no leading `.` or `_`.
MAX_NAME_LENGTH = 214
_NAME_PART = r"[A-Za-z0-9~-][A-Za-z0-9._~-]*"
_PACKAGE_NAME = re.compile(rf"(?:@{_NAME_PART}/)?{_NAME_PART}")
_SCOPE_PATTERN = re.compile(rf"@{_NAME_PART}/\*")

# Characters of a base URL: no whitespace, no `?`/`#` (no query or fragment),
# no `{`/`}` (no template variables), no `\`.
_BASE_URL_TEXT = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/%\[\]]+")
# A tarball URL we redirect to: printable ASCII without `\`, which nothing (a header,
# a browser, a URL parser) could read differently.
_TARBALL_URL_TEXT = re.compile(r"[!-\[\]-~]+")

NOT_FOUND_BODY = b'{"error":"Not found"}'
BAD_GATEWAY_BODY = b'{"error":"The backend registry is unavailable"}'
NO_REGISTRY_BODY = b'{"error":"No backend registry is configured"}'


def is_package_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and _PACKAGE_NAME.fullmatch(name) is not None


def packument_url(registry: str, name: str) -> str:
    """Where the backend serves `name`'s packument: a scoped name's `/` is
    sent as `%2f`, as npm sends it."""
    return f"{registry.rstrip('/')}/{name.replace('/', '%2f')}"


@dataclass(frozen=True)
class NpmPath:
    """A claimed path: the packument of `name`, or its tarball `file_name`."""

    name: str
    file_name: str | None = None


def parse_npm_path(raw_path: str) -> NpmPath | None:
    """`/<name>`, `/@scope%2f<name>`, `/@scope/<name>`, each optionally
    followed by `/-/<file>`; None for any other path."""
    segments = decode_segments(raw_path)
    if len(segments) > 1 and segments[0].startswith("@") and "/" not in segments[0]:
        segments = [f"{segments[0]}/{segments[1]}", *segments[2:]]
    if not segments or not is_package_name(segments[0]):
        return None
    name, rest = segments[0], segments[1:]
    if not rest:
        return NpmPath(name)
    if len(rest) == 2 and rest[0] == "-" and rest[1]:
        return NpmPath(name, rest[1])
    return None


def wants_abbreviated(request: Request) -> bool:
    """True when an `Accept` media range asks for abbreviated metadata (q > 0)."""
    for value in request.header_values("accept"):
        for media_range in value.split(","):
            media, *params = (part.strip().lower() for part in media_range.split(";"))
            if media == ABBREVIATED and not any(_is_zero_q(param) for param in params):
                return True
    return False


def _is_zero_q(param: str) -> bool:
    key, _, value = param.partition("=")
    if key.strip() != "q":
        return False
    try:
        return float(value) == 0
    except ValueError:
        return False


def tarball_file_name(url: str) -> str:
    """The decoded last path segment of a tarball URL: the file's name under our domain."""
    segment = url.partition("#")[0].partition("?")[0].rpartition("/")[2]
    return unquote_to_bytes(segment.encode("utf-8", "surrogatepass")).decode("utf-8", "replace")


def backend_tarball_url(document_url: str, tarball: str) -> str | None:
    """The absolute http(s) URL a download of `tarball` redirects to, resolved
    against the packument's URL; None when it is not one we can send a client to."""
    if not _TARBALL_URL_TEXT.fullmatch(tarball):
        return None
    try:
        absolute = urljoin(document_url, tarball)
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def read_packument(document: Document | None) -> dict[str, Any] | Respond:
    """The packument in a fetched document, or the error to answer instead:
    502 when the backend failed (nothing cached) or sent no JSON object, 404
    when it does not know the package."""
    if document is None:
        return _json_error(502, BAD_GATEWAY_BODY)
    if document.status in (404, 410):
        return _json_error(404, NOT_FOUND_BODY)
    if document.status != 200:
        return _json_error(502, BAD_GATEWAY_BODY)
    try:
        packument = json.loads(document.body)
    except (ValueError, RecursionError):
        return _json_error(502, BAD_GATEWAY_BODY)
    if not isinstance(packument, dict):
        return _json_error(502, BAD_GATEWAY_BODY)
    return packument


def version_dists(packument: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(version, dist) for every version whose `dist.tarball` is a string."""
    versions = packument.get("versions")
    if not isinstance(versions, dict):
        return
    for version, manifest in versions.items():
        dist = manifest.get("dist") if isinstance(manifest, dict) else None
        if isinstance(dist, dict) and isinstance(dist.get("tarball"), str):
            yield version, dist


def rewrite_tarballs(packument: dict[str, Any], origin: str, name: str) -> bytes:
    """The packument with every `dist.tarball` at `<origin>/<name>/-/<file>`;
    nothing else changes. `name` is the validated requested name, never the
    packument's own. ASCII-escaped output is valid UTF-8 whatever the input."""
    for _version, dist in version_dists(packument):
        file_name = quote(tarball_file_name(dist["tarball"]), safe="+@")
        dist["tarball"] = f"{origin}/{name}/-/{file_name}"
    return json.dumps(packument, separators=(",", ":")).encode()


def find_tarball(
    packument: Mapping[str, Any], document_url: str, file_name: str
) -> tuple[str, str] | None:
    """(version, backend URL) of the first version whose tarball is `file_name`."""
    for version, dist in version_dists(packument):
        if tarball_file_name(dist["tarball"]) == file_name:
            location = backend_tarball_url(document_url, dist["tarball"])
            if location is not None:
                return version, location
    return None


def _json_error(status: int, body: bytes) -> Respond:
    return Respond(status, (("Content-Type", "application/json"),), body)


def _json_content_type(document: Document) -> str:
    """The backend's Content-Type when it is one of npm's JSON types, else plain JSON."""
    media = document.content_type.partition(";")[0].strip().lower()
    return document.content_type if media in _JSON_TYPES else "application/json"


@dataclass(frozen=True)
class NpmRule(Rule):
    """npm-v1: one package (`name`, `@scope/name`) or a whole scope (`@scope/*`).

    `registry` is the manifest's backend base URL; without one the rule uses
    `default_registry`, which the deployment fills from its
    NPM_DEFAULT_REGISTRY_URL setting when it compiles the rules. The default
    is not part of the manifest, nor of the rule's identity.
    """

    type: ClassVar[str] = "npm-v1"
    order: ClassVar[int] = ORDER_NPM

    package_id: str
    package_name: str
    registry: str | None = None
    default_registry: str = field(default="", kw_only=True, compare=False)

    def __post_init__(self):
        name = self.package_name
        if not (is_package_name(name) or _SCOPE_PATTERN.fullmatch(name)):
            raise FieldError("package-name", "must be an npm name, @scope/name or @scope/*")
        if self.registry is not None:
            check_http_url(self.registry, "registry", base=True)

    @classmethod
    def from_manifest(cls, data: Mapping[str, Any]) -> NpmRule:
        return cls(
            domain=required_str(data, "domain"),
            package_id=required_str(data, "package-id"),
            package_name=required_str(data, "package-name"),
            registry=optional_str(data, "registry"),
        )

    def manifest_fields(self) -> dict[str, Any]:
        return {
            "package-id": self.package_id,
            "package-name": self.package_name,
            "registry": self.registry,
        }

    def sort_key(self) -> tuple:
        """Exact names before scopes, so `@acme/util` wins over `@acme/*`."""
        return (self.is_scope,)

    @property
    def is_scope(self) -> bool:
        return self.package_name.endswith("/*")

    def claims(self, name: str) -> bool:
        if self.is_scope:
            return name.startswith(self.package_name[:-1])
        return name == self.package_name

    def match(self, request: Request) -> Outcome | None:
        if request.method not in ("GET", "HEAD"):
            return None
        path = parse_npm_path(request.raw_path)
        if path is None or not self.claims(path.name):
            return None
        registry = self.registry or self.default_registry
        if not registry:
            return self._answer(_json_error(502, NO_REGISTRY_BODY), path.name)
        url = packument_url(registry, path.name)
        if path.file_name is None:
            accept = ABBREVIATED_ACCEPT if wants_abbreviated(request) else FULL_ACCEPT
            then = partial(self._packument, request.origin, path.name, url)
        else:
            # The abbreviated packument lists every tarball and is the one npm
            # has just asked for, so the lookup is usually a cache hit.
            accept = ABBREVIATED_ACCEPT
            then = partial(self._tarball, path.name, path.file_name, request.method == "GET")
        fetch = Fetch(url, then, (("Accept", accept),))
        return Outcome(fetch, rule_type=self.type, rule_ref=self.ref)

    def _packument(self, origin: str, name: str, url: str, document: Document | None) -> Outcome:
        packument = read_packument(document)
        if isinstance(packument, Respond):
            return self._answer(packument, name, backend_url=url)
        assert document is not None  # read_packument gives a packument only from a document
        body = rewrite_tarballs(packument, origin, name)
        response = Respond(200, (("Content-Type", _json_content_type(document)),), body)
        return self._answer(response, name, backend_url=url)

    def _tarball(
        self, name: str, file_name: str, download: bool, document: Document | None
    ) -> Outcome:
        packument = read_packument(document)
        if isinstance(packument, Respond):
            return self._answer(packument, name, file_name=file_name)
        assert document is not None  # read_packument gives a packument only from a document
        found = find_tarball(packument, document.url, file_name)
        if found is None:
            return self._answer(_json_error(404, NOT_FOUND_BODY), name, file_name=file_name)
        version, location = found
        return self._answer(
            Redirect(location),
            name,
            version=version,
            file_name=file_name,
            backend_url=location,
            download=download,
        )

    def _answer(
        self,
        response: Response,
        name: str,
        *,
        version: str | None = None,
        file_name: str | None = None,
        backend_url: str | None = None,
        download: bool = False,
    ) -> Outcome:
        capture = Capture(
            kind="npm",
            package=self.package_id,
            fields={
                "name": name,
                "version": version,
                "file_name": file_name,
                "backend_url": backend_url,
                "download": download,
            },
        )
        return Outcome(response, (capture,), rule_type=self.type, rule_ref=self.ref)
