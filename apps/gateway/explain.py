"""What the gateway would answer to a request, without sending traffic.

Shared by `manage.py gateway_resolve` and the API's resolve endpoint, so
both report exactly what a serving gateway decides.
"""

from __future__ import annotations

from typing import Any

from .engine.http import Request
from .engine.outcome import Fetch, Proxy, Redirect
from .routing import build_entry, compile_entry


def resolve_request(
    host: str, method: str, target: str, headers: list[tuple[str, str]]
) -> dict[str, Any] | None:
    """The decision for `method target` on `host` (a path, optionally with a
    query); None when the host is not a verified domain, which the gateway
    does not serve."""
    host = host.lower()
    routes = compile_entry(host, build_entry(host), 0)
    if routes is None:
        return None
    path, mark, query = target.partition("?")
    request = Request(
        method=method.upper(),
        host=host,
        raw_path=path,
        raw_query=query if mark else None,
        headers=tuple((name.strip().lower(), value.strip()) for name, value in headers),
    )
    outcome = routes.resolve(request)
    response = outcome.response
    report: dict[str, Any] = {
        "rule": {"type": outcome.rule_type, "id": outcome.rule_ref or None},
        "status": _status(response),
    }
    if isinstance(response, Redirect):
        report["location"] = response.location
    elif isinstance(response, Proxy):
        report["upstream"] = response.upstream
    elif isinstance(response, Fetch):
        report["upstream"] = response.url
    else:
        report["headers"] = dict(response.headers)
        report["body"] = response.body.decode("utf-8", errors="replace")
    report["captures"] = [
        {"kind": c.kind, "package": c.package, **c.fields} for c in outcome.captures
    ]
    return report


def _status(response) -> int | str:
    """The HTTP status, or what the gateway does instead of answering at once:
    "proxied" (streams the upstream's answer), "fetched" (an upstream document,
    re-listed under the domain)."""
    if isinstance(response, Proxy):
        return "proxied"
    if isinstance(response, Fetch):
        return "fetched"
    return response.status
