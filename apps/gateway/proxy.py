"""The Docker/OCI registry proxy: the edge's I/O for a `Proxy` outcome.

Clients that cannot be trusted to follow a redirect (skopeo, podman,
containerd 1.7+, anything with `Authorization: Basic`) get the registry's
answer through us (GATEWAY-DECISIONS §3, GATEWAY-REFERENCE §7.5). Bytes pass
unchanged, because clients compare digests; `/v2/` redirects are followed
here, any other redirect (signed blob-storage URLs) goes back to the client;
auth challenges pass through untouched, because the client fetches its token
from the registry itself (§7.6).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import urllib3
from django.conf import settings

from .engine.docker import registry_url
from .engine.http import Request
from .engine.outcome import Proxy
from .upstream import http_pool

log = logging.getLogger(__name__)

PROXIED_METHODS = frozenset({"GET", "HEAD"})
FOLLOWED_STATUSES = frozenset({302, 307})
MAX_FOLLOWED_REDIRECTS = 10
CHUNK_SIZE = 64 * 1024

# Meaningful for one connection only (RFC 9110 §7.6.1), never forwarded either
# way, like every `Proxy-*` header and every header `Connection` names.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade"}
)
# Not the client's to pass on: Host is the registry's, and no body is ever
# forwarded, so nothing may describe one.
DROPPED_REQUEST_HEADERS = frozenset({"host", "content-encoding", "content-length"})
# The WSGI server sends its own; the registry's too would make them appear twice.
DROPPED_RESPONSE_HEADERS = frozenset({"date", "server"})


@dataclass
class ProxiedResponse:
    """What the edge sends back: `body` is a WSGI iterable, `target` the last URL asked."""

    status: int
    status_line: str
    headers: list[tuple[str, str]]
    body: UpstreamBody | list[bytes]
    target: str


class UpstreamBody:
    """The upstream body as a WSGI iterable, chunk by chunk as it arrives.

    Closing it (the server always does) gives the connection back. A read
    failure mid-body propagates, so the server aborts the response rather than
    end it as if it were complete.
    """

    def __init__(self, response: urllib3.BaseHTTPResponse):
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self.response.stream(CHUNK_SIZE, decode_content=False)

    def close(self) -> None:
        release(self.response)


def release(response: urllib3.BaseHTTPResponse) -> None:
    """Give the connection back to the pool; one with unread body bytes on it
    (the client went away, or the body is not wanted) is dropped first."""
    if not response.closed:
        response.close()
    response.release_conn()


def proxy_request(request: Request, proxy: Proxy) -> ProxiedResponse:
    """Ask the registry for what the client asked us, following `/v2/` redirects.

    Only GET and HEAD go upstream: the gateway serves pulls, and a bodiless
    DELETE or POST carrying the client's token would still change the registry.
    """
    url = registry_url(proxy.upstream, request)
    if request.method not in PROXIED_METHODS:
        return error_response(405, "UNSUPPORTED", "the gateway serves pulls only", url)
    headers = forwarded_headers(request)
    try:
        for _ in range(MAX_FOLLOWED_REDIRECTS + 1):
            response = send(request.method, url, headers)
            location = followed_location(response, url)
            if location is None:
                break
            release(response)
            url = location
    except (urllib3.exceptions.HTTPError, OSError) as error:
        log.warning("registry %s failed: %s", url, error)
        return error_response(502, "UNAVAILABLE", "the registry did not answer", url)
    return relay(request, response, url)


def forwarded_headers(request: Request) -> urllib3.HTTPHeaderDict:
    """The client's end-to-end headers, every line of each (several `Accept`
    lines matter, GATEWAY-DECISIONS §10), with our own `Accept-Encoding` (so
    bytes and digests pass unchanged) and one `X-Forwarded-For` replacing the
    client's (a client may claim any address there)."""
    headers = urllib3.HTTPHeaderDict()
    for name, value in end_to_end(request.headers):
        if name.lower() not in DROPPED_REQUEST_HEADERS:
            headers.add(name, value)
    headers["Accept-Encoding"] = "identity"
    headers["X-Forwarded-For"] = request.client_ip
    return headers


def end_to_end(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """`headers` without the hop-by-hop ones, including those `Connection` names."""
    headers = list(headers)
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [
        (name, value)
        for name, value in headers
        if name.lower() not in HOP_BY_HOP
        and name.lower() not in named
        and not name.lower().startswith("proxy-")
    ]


def send(method: str, url: str, headers: urllib3.HTTPHeaderDict) -> urllib3.BaseHTTPResponse:
    """One upstream exchange, never with a body; time-outs are read per request
    so that they follow the settings."""
    return http_pool().request(
        method,
        url,
        headers=headers,
        redirect=False,
        retries=False,
        preload_content=False,
        timeout=urllib3.Timeout(
            connect=settings.UPSTREAM_CONNECT_TIMEOUT, read=settings.UPSTREAM_READ_TIMEOUT
        ),
    )


def followed_location(response: urllib3.BaseHTTPResponse, url: str) -> str | None:
    """The absolute URL to follow when `response` is a 302/307 to a `/v2/` path."""
    location = response.headers.get("Location")
    if response.status not in FOLLOWED_STATUSES or not location:
        return None
    path = urlsplit(location).path
    if path != "/v2" and not path.startswith("/v2/"):
        return None
    return urljoin(url, location)


def relay(request: Request, response: urllib3.BaseHTTPResponse, url: str) -> ProxiedResponse:
    """The registry's answer for the client: its status and end-to-end headers
    (a relative Location made absolute against the URL that answered), its body
    streamed; no body for HEAD, nor for a 302/307, as in the reference."""
    redirect = response.status in FOLLOWED_STATUSES
    headers = []
    for name, value in end_to_end(response.headers.items()):
        if name.lower() in DROPPED_RESPONSE_HEADERS:
            continue
        if redirect and name.lower() == "content-length":
            continue
        headers.append((name, urljoin(url, value) if name.lower() == "location" else value))
    if request.method == "HEAD" or redirect:
        release(response)
        return ProxiedResponse(response.status, status_line(response.status), headers, [], url)
    body = UpstreamBody(response)
    return ProxiedResponse(response.status, status_line(response.status), headers, body, url)


def error_response(status: int, code: str, message: str, url: str) -> ProxiedResponse:
    """An OCI distribution-spec error, answered by us instead of the registry."""
    body = json.dumps({"errors": [{"code": code, "message": message, "detail": {}}]}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if status == 405:
        headers.append(("Allow", ", ".join(sorted(PROXIED_METHODS))))
    return ProxiedResponse(status, status_line(status), headers, [body], url)


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
