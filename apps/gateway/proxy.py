"""Placeholder until the Docker/OCI proxy lands: every proxied request fails with 502."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .engine.http import Request
from .engine.outcome import Proxy


@dataclass
class ProxiedResponse:
    status: int
    status_line: str
    headers: list[tuple[str, str]]
    body: Iterable[bytes]
    target: str


def proxy_request(request: Request, proxy: Proxy) -> ProxiedResponse:
    body = b'{"errors":[{"code":"UNAVAILABLE","message":"proxy not written yet","detail":{}}]}'
    return ProxiedResponse(
        502,
        "502 Bad Gateway",
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        [body],
        proxy.upstream,
    )
