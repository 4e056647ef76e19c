"""Outbound HTTP for the gateway: one pooled client with time-outs, and
upstream documents (index pages, packuments) cached with stale-if-error.

The cache is Django's: Redis in production, in-process in embedded mode.
"""

from __future__ import annotations

import hashlib
import logging
import time
from urllib.parse import urljoin

import urllib3
from django.conf import settings
from django.core.cache import cache

from .engine.outcome import Document

log = logging.getLogger(__name__)

_pool: urllib3.PoolManager | None = None


def http_pool() -> urllib3.PoolManager:
    """The shared connection pool (per process), created on first use."""
    global _pool
    if _pool is None:
        _pool = urllib3.PoolManager(
            num_pools=200,
            maxsize=int(settings.UPSTREAM_POOL_SIZE),
            block=False,
            timeout=urllib3.Timeout(
                connect=settings.UPSTREAM_CONNECT_TIMEOUT, read=settings.UPSTREAM_READ_TIMEOUT
            ),
            retries=False,
        )
    return _pool


def _cache_key(url: str, headers: tuple[tuple[str, str], ...]) -> str:
    digest = hashlib.sha256(repr((url, sorted(headers))).encode()).hexdigest()
    return f"upstream:{digest}"


def _is_failure(status: int) -> bool:
    return status >= 500 or status == 429


def fetch_document(url: str, headers: tuple[tuple[str, str], ...] = ()) -> Document | None:
    """The document at `url`: from the cache while fresh, else fetched; when
    the upstream fails (unreachable, time-out, 5xx, 429) the last good copy
    is served marked stale, or None when there is none."""
    key = _cache_key(url, headers)
    cached = cache.get(key)
    if cached is not None and time.time() - cached["fetched_at"] < settings.UPSTREAM_CACHE_TTL:
        return _document(cached)
    fetched = _fetch(url, headers)
    if fetched is None:
        return None if cached is None else _document(cached, stale=True)
    cache.set(key, fetched, timeout=settings.UPSTREAM_STALE_TTL)
    return _document(fetched)


def _document(entry: dict, stale: bool = False) -> Document:
    return Document(
        url=entry["url"],
        status=entry["status"],
        content_type=entry["content_type"],
        body=entry["body"],
        stale=stale,
    )


def _fetch(url: str, headers: tuple[tuple[str, str], ...]) -> dict | None:
    try:
        response = http_pool().request(
            "GET",
            url,
            headers={"Accept-Encoding": "gzip", **dict(headers)},
            retries=urllib3.Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5),
            preload_content=False,
        )
        try:
            body = response.read(settings.UPSTREAM_MAX_DOCUMENT + 1, decode_content=True)
        finally:
            response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("upstream %s failed: %s", url, error)
        return None
    if _is_failure(response.status) or len(body) > settings.UPSTREAM_MAX_DOCUMENT:
        log.warning("upstream %s answered %s (%d bytes)", url, response.status, len(body))
        return None
    return {
        "url": final_url(url, response),
        "status": response.status,
        "content_type": response.headers.get("Content-Type", ""),
        "body": body,
        "fetched_at": time.time(),
    }


def final_url(url: str, response: urllib3.BaseHTTPResponse) -> str:
    """Where the document really came from, after redirects (relative links
    on it resolve against this)."""
    for step in response.retries.history if response.retries else ():
        if step.redirect_location:
            url = urljoin(url, step.redirect_location)
    return url
