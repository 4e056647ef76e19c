"""What one backend serves, item by item, so that two backends can be compared.

An inventory maps each item to its fingerprint: for an OCI registry
`repository:tag` -> manifest digest (registry tags/list, then a manifest
HEAD's `Docker-Content-Digest`); for a Python index file name -> sha256
(PEP 503/691 project page, the file downloaded when the page gives no
sha256); for npm `name@version` -> `dist.integrity` (the packument); for
file rules each path the maintainer names -> size (and ETag, or a sha256 of
the content, as asked) of the file the rule redirects that path to.

Reading a backend that does not hold an item at all (404) leaves the item
out; anything else unexpected raises Unreachable, so a backend that cannot
be read never passes for one that serves nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode, urljoin

from django.conf import settings

from apps.gateway.engine.docker import DockerImageRule, DockerPatternRule, registry_base_url
from apps.gateway.engine.files import CatchAllRule, FileRegexRule, FileTemplateRule
from apps.gateway.engine.http import Request
from apps.gateway.engine.npm import NpmRule, packument_url, version_dists
from apps.gateway.engine.outcome import Document, Redirect
from apps.gateway.engine.python import (
    UPSTREAM_ACCEPT,
    PythonFileRule,
    index_base,
    normalize_name,
)
from apps.gateway.engine.python_index import PythonIndexRule
from apps.gateway.engine.python_upstream import read_project_page

from .backends import BackendDescription
from .transport import Answer, Content, Unreachable, download_digest, request

Inventory = dict[str, str]

MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
FILE_COMPARISONS = ("size", "etag", "sha256")
SCOPE_LISTS = ("repositories", "tags", "packages", "paths")
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_NEXT_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class Scope:
    """What to compare where a backend cannot list it itself: the repositories
    of a docker-v2 pattern (else the registry's catalog), the packages of an
    npm scope, the paths of a file rule; `tags` narrows a docker comparison."""

    repositories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    packages: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    file_comparison: str = "size"

    @classmethod
    def from_json(cls, data: dict) -> Scope:
        lists = {key: tuple(data.get(key) or ()) for key in SCOPE_LISTS}
        return cls(**lists, file_comparison=data.get("file_comparison") or "size")

    def to_json(self) -> dict:
        return {
            "repositories": list(self.repositories),
            "tags": list(self.tags),
            "packages": list(self.packages),
            "paths": list(self.paths),
            "file_comparison": self.file_comparison,
        }


def parallel(function: Callable, items: Iterable) -> list:
    """`function` over `items`, MIGRATION_CHECK_CONCURRENCY at a time, in order."""
    with ThreadPoolExecutor(max_workers=settings.MIGRATION_CHECK_CONCURRENCY) as pool:
        return list(pool.map(function, items))


def bounded(inventory):
    """`inventory` (or any sized list of items) when within MIGRATION_CHECK_MAX_ITEMS."""
    if len(inventory) > settings.MIGRATION_CHECK_MAX_ITEMS:
        raise Unreachable(
            f"more than {settings.MIGRATION_CHECK_MAX_ITEMS} items to compare; "
            "narrow the check (tags, repositories, packages or paths)"
        )
    return inventory


def resolve(description: BackendDescription, scope: Scope) -> Scope:
    """The scope both sides are read with: a docker-v2 check without a
    repository list compares the repositories the old registry's catalog has
    that the rule's pattern covers (a registry without a catalog: Unreachable)."""
    rule = description.rule
    if isinstance(rule, DockerPatternRule) and not scope.repositories:
        repositories = docker_repositories(rule, scope, Registry(rule.registry))
        return replace(scope, repositories=tuple(repositories))
    return scope


def read(description: BackendDescription, scope: Scope) -> Inventory:
    """The inventory of the backend `description` names."""
    rule = description.rule
    if isinstance(rule, DockerImageRule | DockerPatternRule):
        return bounded(docker_inventory(rule, scope))
    if isinstance(rule, PythonIndexRule):
        return bounded(python_index_inventory(python_index(rule), rule.package_name))
    if isinstance(rule, PythonFileRule):
        return bounded(python_file_inventory(rule))
    if isinstance(rule, NpmRule):
        return bounded(npm_inventory(npm_registry(rule), packages_of(rule, scope)))
    if isinstance(rule, FileTemplateRule | FileRegexRule | CatchAllRule):
        return bounded(file_inventory(rule, scope))
    raise Unreachable(f"{description.type} rules have no backend to compare")


# OCI registries


@dataclass
class Registry:
    """An OCI distribution registry, read anonymously: a `401` with a Bearer
    challenge is answered with an anonymous pull token from its realm."""

    registry: str
    tokens: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return registry_base_url(self.registry)

    def get(self, method: str, path: str, repository: str | None, accept: str = "") -> Answer:
        url = urljoin(self.base, path)
        headers = {"Accept": accept} if accept else {}
        token = self.tokens.get(repository or "")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        answer = request(method, url, headers)
        challenge = answer.headers.get("WWW-Authenticate", "")
        if answer.status == 401 and challenge.lower().startswith("bearer") and not token:
            token = self.token(challenge, repository)
            answer = request(method, url, {**headers, "Authorization": f"Bearer {token}"})
        return answer

    def token(self, challenge: str, repository: str | None) -> str:
        params = dict(_CHALLENGE_PARAM.findall(challenge))
        realm = params.pop("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise Unreachable(f"{self.base}: an authentication challenge without a realm")
        if "scope" not in params and repository:
            params["scope"] = f"repository:{repository}:pull"
        answer = request("GET", f"{realm}?{urlencode(params)}")
        try:
            data = json.loads(answer.body) if answer.status == 200 else {}
        except ValueError:
            data = {}
        token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise Unreachable(f"{realm}: no anonymous pull token (HTTP {answer.status})")
        with self.lock:
            self.tokens[repository or ""] = token
        return token

    def pages(self, path: str, key: str, repository: str | None) -> list[str] | None:
        """Every entry of a paginated list (`Link: <…>; rel="next"`); None on 404."""
        entries: list[str] = []
        next_path: str | None = path
        while next_path:
            answer = self.get("GET", next_path, repository)
            if answer.status == 404:
                return None
            if answer.status != 200:
                raise Unreachable(f"{answer.url}: HTTP {answer.status}")
            try:
                values = json.loads(answer.body).get(key) or []
            except (ValueError, AttributeError):
                raise Unreachable(f"{answer.url}: not a JSON object with {key!r}") from None
            entries += [value for value in values if isinstance(value, str)]
            link = _NEXT_LINK.search(answer.headers.get("Link", ""))
            next_path = link.group(1) if link else None
        return entries

    def catalog(self) -> list[str]:
        listed = self.pages("/v2/_catalog?n=1000", "repositories", None)
        if listed is None:
            raise Unreachable(
                f"{self.base} does not list its repositories (/v2/_catalog); "
                "give the repositories to compare"
            )
        return listed

    def tags(self, repository: str) -> list[str]:
        """The repository's tags; none when the registry does not know it."""
        return self.pages(f"/v2/{repository}/tags/list?n=1000", "tags", repository) or []

    def digest(self, repository: str, tag: str) -> str | None:
        """The manifest digest a pull of `repository:tag` gets; None when absent."""
        path = f"/v2/{repository}/manifests/{tag}"
        answer = self.get("HEAD", path, repository, MANIFEST_ACCEPT)
        if answer.status == 404:
            return None
        if answer.status == 200 and answer.headers.get("Docker-Content-Digest"):
            return answer.headers["Docker-Content-Digest"]
        answer = self.get("GET", path, repository, MANIFEST_ACCEPT)
        if answer.status == 404:
            return None
        if answer.status != 200:
            raise Unreachable(f"{answer.url}: HTTP {answer.status}")
        digest = answer.headers.get("Docker-Content-Digest")
        if digest:
            return digest
        return "sha256:" + hashlib.sha256(answer.body).hexdigest()


def covers(rule: DockerPatternRule, repository: str) -> bool:
    """Whether the docker-v2 rule's pattern takes in `repository`."""
    return rule.pattern.matches(tuple(repository.split("/")))


def docker_repositories(rule: DockerImageRule | DockerPatternRule, scope: Scope, registry):
    if isinstance(rule, DockerImageRule):
        return [rule.repository_name]
    if scope.repositories:
        return list(scope.repositories)
    return sorted(name for name in registry.catalog() if covers(rule, name))


def docker_inventory(rule: DockerImageRule | DockerPatternRule, scope: Scope) -> Inventory:
    registry = Registry(rule.registry)
    items = bounded(
        [
            (repository, tag)
            for repository in docker_repositories(rule, scope, registry)
            for tag in (scope.tags or registry.tags(repository))
        ]
    )
    digests = parallel(lambda item: registry.digest(*item), items)
    return {
        f"{repository}:{tag}": digest
        for (repository, tag), digest in zip(items, digests, strict=True)
        if digest is not None
    }


# Python indexes


def python_index(rule: PythonIndexRule | PythonFileRule) -> str | None:
    return index_base(rule.backend_simple_index_url or settings.PYTHON_DEFAULT_INDEX_URL)


def python_index_inventory(index_url: str | None, project: str) -> Inventory:
    """file name -> `sha256:<hex>` for every file the project page lists."""
    if index_url is None:
        return {}
    answer = request("GET", f"{index_url}{normalize_name(project)}/", dict(UPSTREAM_ACCEPT))
    if answer.status in (404, 410):
        return {}
    if answer.status != 200:
        raise Unreachable(f"{answer.url}: HTTP {answer.status}")
    content_type = answer.headers.get("Content-Type", "")
    files = read_project_page(Document(answer.url, 200, content_type, answer.body))
    if files is None:
        raise Unreachable(f"{answer.url}: not a PEP 503 or PEP 691 project page")
    first = {}
    for file in files:
        first.setdefault(file.file_name, file)

    def fingerprint(file) -> str | None:
        listed = dict(file.hashes).get("sha256")
        return f"sha256:{listed.lower()}" if listed else file_sha256(file.download_url)

    hashes = parallel(fingerprint, first.values())
    return {name: value for name, value in zip(first, hashes, strict=True) if value is not None}


def download(url: str) -> Content | None:
    """The file at `url` streamed through SHA-256; None when absent (404, 410)."""
    content = download_digest(url)
    if content.status in (404, 410):
        return None
    if content.status != 200:
        raise Unreachable(f"{url}: HTTP {content.status}")
    return content


def file_sha256(url: str) -> str | None:
    content = download(url)
    return None if content is None else f"sha256:{content.sha256}"


def python_file_inventory(rule: PythonFileRule) -> Inventory:
    """The rule's own file (downloaded and hashed) and, when it names an
    index, the files that index lists for the project."""
    listed = python_index_inventory(index_base(rule.backend_simple_index_url), rule.package_name)
    own = file_sha256(rule.backend_url)
    return {**listed, **({rule.file_name: own} if own else {})}


# npm registries


def npm_registry(rule: NpmRule) -> str:
    registry = rule.registry or settings.NPM_DEFAULT_REGISTRY_URL
    if not registry:
        raise Unreachable("the rule names no registry and NPM_DEFAULT_REGISTRY_URL is not set")
    return registry


def packages_of(rule: NpmRule, scope: Scope) -> list[str]:
    return list(scope.packages) if rule.is_scope else [rule.package_name]


def npm_inventory(registry: str, names: list[str]) -> Inventory:
    """`name@version` -> `dist.integrity` (or the legacy `sha1:<shasum>`)."""

    def versions(name: str) -> Inventory:
        answer = request("GET", packument_url(registry, name), {"Accept": "application/json"})
        if answer.status in (404, 410):
            return {}
        if answer.status != 200:
            raise Unreachable(f"{answer.url}: HTTP {answer.status}")
        try:
            packument = json.loads(answer.body)
        except ValueError:
            raise Unreachable(f"{answer.url}: not a JSON packument") from None
        if not isinstance(packument, dict):
            raise Unreachable(f"{answer.url}: not a JSON packument")
        return {
            f"{name}@{version}": str(dist.get("integrity") or f"sha1:{dist.get('shasum')}")
            for version, dist in version_dists(packument)
        }

    inventory: Inventory = {}
    for found in parallel(versions, names):
        inventory.update(found)
    return inventory


# File rules


def file_location(rule, path: str) -> str | None:
    """Where the rule redirects a GET of `path` (with its query) on its domain."""
    raw_path, mark, query = path.partition("?")
    outcome = rule.match(
        Request("GET", rule.domain, raw_path, query if mark else None, scheme="https")
    )
    if outcome is None or not isinstance(outcome.response, Redirect):
        return None
    return outcome.response.location


def file_fingerprint(url: str, comparison: str) -> str | None:
    if comparison == "sha256":
        return file_sha256(url)
    answer = request("HEAD", url)
    if answer.status in (403, 405, 501):  # some stores sign URLs for GET only
        content = download(url)
        return None if content is None else f"{content.size} bytes"
    if answer.status in (404, 410):
        return None
    if answer.status != 200:
        raise Unreachable(f"{answer.url}: HTTP {answer.status}")
    size = answer.headers.get("Content-Length", "?")
    if comparison == "etag":
        return f"{size} bytes, ETag {answer.headers.get('ETag', '(none)')}"
    return f"{size} bytes"


def file_inventory(rule, scope: Scope) -> Inventory:
    """path -> fingerprint of the file the rule sends that path to."""

    def fingerprint(path: str) -> str | None:
        location = file_location(rule, path)
        return None if location is None else file_fingerprint(location, scope.file_comparison)

    found = parallel(fingerprint, scope.paths)
    return {path: value for path, value in zip(scope.paths, found, strict=True) if value}
