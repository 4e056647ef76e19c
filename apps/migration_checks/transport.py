"""HTTP for migration checks: the gateway's pooled client, redirects followed,
bodies bounded, every failure turned into `Unreachable` naming the URL.

Checks read the backends a rule already sends traffic to, fresh (never the
gateway's cache of upstream pages): the answer must be what the backend
serves now.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import urllib3
from django.conf import settings

from apps.gateway.proxy import release
from apps.gateway.upstream import final_url, http_pool

USER_AGENT = "package-gateway-migration-check/1"
CHUNK = 64 * 1024


class Unreachable(Exception):
    """A backend could not be read (connection, time-out, unexpected status)."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: urllib3.HTTPHeaderDict
    body: bytes
    url: str  # after redirects


def _retries() -> urllib3.Retry:
    return urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5)


def request(method: str, url: str, headers: dict[str, str] | None = None) -> Answer:
    """One request, redirects followed, the body read up to UPSTREAM_MAX_DOCUMENT."""
    limit = settings.UPSTREAM_MAX_DOCUMENT
    try:
        response = http_pool().request(
            method,
            url,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip", **(headers or {})},
            retries=_retries(),
            preload_content=False,
        )
        try:
            body = b"" if method == "HEAD" else response.read(limit + 1, decode_content=True)
        finally:
            release(response)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise Unreachable(f"{url}: {error}") from None
    if len(body) > limit:
        raise Unreachable(f"{url}: larger than {limit} bytes")
    return Answer(response.status, response.headers, body, final_url(url, response))


@dataclass(frozen=True)
class Content:
    """A downloaded file: its status, size and SHA-256 (hex), nothing kept."""

    status: int
    size: int
    sha256: str


def download_digest(url: str) -> Content:
    """Stream `url` through SHA-256 (any size; the bytes are not kept)."""
    digest, size = hashlib.sha256(), 0
    try:
        response = http_pool().request(
            "GET",
            url,
            headers={"User-Agent": USER_AGENT},
            retries=_retries(),
            preload_content=False,
        )
        try:
            if response.status == 200:
                for chunk in response.stream(CHUNK, decode_content=False):
                    digest.update(chunk)
                    size += len(chunk)
        finally:
            release(response)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise Unreachable(f"{url}: {error}") from None
    return Content(response.status, size, digest.hexdigest())
