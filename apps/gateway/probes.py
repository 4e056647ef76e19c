"""Health checks of backends: one small request (or two) per backend, through
the gateway's pooled client with short time-outs.

What each rule type asks its backend (a variant of the rule: the primary, or
the rule with an alternate's overrides applied):
- docker: `GET /v2/` (200 or 401), then for one image its tag list and a
  `HEAD` of the first tag's manifest (a registry asking for a token, 401,
  answers for itself: nothing more can be checked anonymously);
- python: the project page on the index (`<index>/<name>/`); a file rule
  without an index: a `HEAD` of its file;
- npm: the packument (for a scope: of the last package downloaded from it,
  else the registry's root);
- file and catch-all: a `HEAD` of a file (the outgoing URL expanded with the
  variables of a recent download), else of the backend's root.

A check fails when the backend cannot be reached or times out, answers 5xx
or 429, or says it does not have what the rule serves (404 and the like).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

import urllib3
from django.conf import settings

from .engine.docker import DockerImageRule, DockerRule, registry_base_url
from .engine.files import CatchAllRule, _FileRule
from .engine.npm import ABBREVIATED_ACCEPT, NpmRule, packument_url
from .engine.python import UPSTREAM_ACCEPT, PythonFileRule, PythonRule, normalize_name
from .engine.rules import Rule
from .upstream import http_pool

MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
MAX_BODY = 1024 * 1024
MAX_ERROR = 300


@dataclass(frozen=True)
class Sample:
    """What a recent download of the rule asked for: the captured variables
    (file rules) and the package name (npm scopes)."""

    variables: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    error: str = ""


OK = ProbeResult(True)


def failed(reason: str) -> ProbeResult:
    return ProbeResult(False, reason[:MAX_ERROR])


def is_failure(status: int) -> bool:
    return status >= 500 or status == 429


def probe(rule: Rule, sample: Sample | None = None) -> ProbeResult:
    """Check the backend `rule` points at."""
    sample = sample or Sample()
    try:
        if isinstance(rule, DockerRule):
            return _docker(rule)
        if isinstance(rule, PythonRule):
            return _python(rule)
        if isinstance(rule, NpmRule):
            return _npm(rule, sample)
        if isinstance(rule, _FileRule):
            url = rule.outgoing_for(sample.variables) if sample.variables else None
            return _head_file(url) if url else _root(rule.outgoing_url)
        if isinstance(rule, CatchAllRule) and rule.redirect_target_domain:
            return _root(f"https://{rule.redirect_target_domain}")
    except Unreachable as error:
        return failed(str(error))
    return OK


class Unreachable(Exception):
    """A backend that could not be asked: refused, timed out, broken answer."""


def _ask(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    *,
    follow: bool = False,
    body: bool = False,
) -> tuple[int, bytes]:
    """One exchange: the status and (when asked for) at most MAX_BODY bytes."""
    timeout = settings.BACKEND_PROBE_TIMEOUT
    retries = urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5)
    try:
        response = http_pool().request(
            method,
            url,
            headers=dict(headers or {}),
            redirect=follow,
            retries=retries if follow else False,
            preload_content=False,
            timeout=urllib3.Timeout(connect=timeout, read=timeout),
        )
        try:
            data = response.read(MAX_BODY) if body else b""
        finally:
            if not response.closed:
                response.close()
            response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise Unreachable(f"{method} {url} failed: {reason}") from None
    return response.status, data


def _docker(rule: DockerRule) -> ProbeResult:
    base = registry_base_url(rule.registry)
    status, _ = _ask("GET", f"{base}/v2/")
    if status not in (200, 401):
        return failed(f"GET {base}/v2/ answered {status}")
    if not isinstance(rule, DockerImageRule):
        return OK
    repository = quote(rule.repository_name, safe="/")
    status, data = _ask("GET", f"{base}/v2/{repository}/tags/list", body=True)
    if status == 401:
        return OK
    if status != 200:
        return failed(f"the tags of {rule.repository_name} answered {status}")
    try:
        tags = json.loads(data).get("tags") or []
    except (ValueError, AttributeError):
        return failed(f"the tags of {rule.repository_name} are not a tag list")
    if not tags:
        return failed(f"{rule.repository_name} has no tags")
    url = f"{base}/v2/{repository}/manifests/{quote(str(tags[0]), safe='')}"
    status, _ = _ask("HEAD", url, {"Accept": MANIFEST_ACCEPT})
    if status not in (200, 401):
        return failed(f"HEAD of {rule.repository_name}:{tags[0]} answered {status}")
    return OK


def _python(rule: PythonRule) -> ProbeResult:
    index = rule.index_url
    if index is None:
        if isinstance(rule, PythonFileRule):
            return _head_file(rule.backend_url)
        return OK
    url = f"{index}{quote(normalize_name(rule.package_name))}/"
    status, _ = _ask("GET", url, dict(UPSTREAM_ACCEPT), follow=True)
    return OK if status == 200 else failed(f"{url} answered {status}")


def _npm(rule: NpmRule, sample: Sample) -> ProbeResult:
    registry = rule.registry or rule.default_registry
    if not registry:
        return OK
    name = rule.package_name if not rule.is_scope else sample.name
    if name is None or not rule.claims(name):
        return _root(registry)
    url = packument_url(registry, name)
    status, _ = _ask("GET", url, {"Accept": ABBREVIATED_ACCEPT}, follow=True)
    return OK if status == 200 else failed(f"{url} answered {status}")


def _head_file(url: str) -> ProbeResult:
    status, _ = _ask("HEAD", url, follow=True)
    if status >= 400 and status != 405:  # 405: the server refuses HEAD but is there
        return failed(f"HEAD {url} answered {status}")
    return OK


def _root(url: str | None) -> ProbeResult:
    """The backend's root answers at all (any status below 500 but 429)."""
    if not url:
        return OK
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}/"
    status, _ = _ask("HEAD", root)
    return failed(f"HEAD {root} answered {status}") if is_failure(status) else OK
