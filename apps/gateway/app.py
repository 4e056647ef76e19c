"""The gateway's WSGI application: tenant domains are answered here, outside
Django's middleware stack (flow 2 of ARCHITECTURE.md)."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from urllib.parse import quote

from django.conf import settings
from django.db import close_old_connections

from .engine.http import Request
from .engine.outcome import Fetch, Proxy, Redirect, Respond, not_found
from .proxy import proxy_request
from .recording import build_events, record_download
from .routing import RoutingTable, make_source
from .upstream import fetch_document

log = logging.getLogger(__name__)

MAX_TARGET_LENGTH = 8192
STATUS_TEXT = {
    200: "OK",
    301: "Moved Permanently",
    304: "Not Modified",
    307: "Temporary Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    414: "URI Too Long",
    422: "Unprocessable Content",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


class BadRequest(Exception):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


def normalise_host(value: str) -> str:
    """Lower-case, without the port (`[::1]:8000` -> `[::1]`)."""
    value = value.strip().lower()
    if value.startswith("["):
        return value.split("]", 1)[0] + "]"
    return value.split(":", 1)[0]


def parse_networks(values: Iterable[str]) -> tuple:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def _from_trusted_proxy(peer: str, networks: tuple) -> bool:
    if not networks:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in networks)


def request_from_environ(environ: dict, trusted_proxies: tuple) -> Request:
    """Build the engine's Request; raises BadRequest for what no rule may see."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:  # servers that only give the decoded path
        raw = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/;=,:@!$&'()*+~")
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    if len(raw) > MAX_TARGET_LENGTH:
        raise BadRequest(414, "request target too long")
    if "://" in raw.split("?", 1)[0] and not raw.startswith("/"):
        raw = "/" + raw.split("://", 1)[1].partition("/")[2]  # absolute-form target
    if not raw.startswith("/") or any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise BadRequest(400, "malformed request target")
    path, mark, query = raw.partition("?")

    headers = tuple(
        (key[5:].replace("_", "-").lower(), value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    )
    if environ.get("CONTENT_TYPE"):
        headers += (("content-type", environ["CONTENT_TYPE"]),)
    peer = environ.get("REMOTE_ADDR", "")
    host = environ.get("HTTP_HOST", "")
    client_ip = peer
    scheme = environ.get("wsgi.url_scheme", "http")
    if _from_trusted_proxy(peer, trusted_proxies):
        host = environ.get("HTTP_X_FORWARDED_HOST", host).split(",")[0]
        forwarded = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[0].strip()
        client_ip = forwarded or peer
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
        scheme = proto if proto in ("http", "https") else scheme
    host = normalise_host(host)
    if not host:
        raise BadRequest(400, "missing Host header")

    return Request(
        method=environ.get("REQUEST_METHOD", "GET").upper(),
        host=host,
        raw_path=path,
        raw_query=query if mark else None,
        headers=headers,
        read_body=_body_reader(environ),
        client_ip=client_ip,
        scheme=scheme,
    )


def _body_reader(environ: dict):
    def read_body(limit: int) -> bytes:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return b""
        return environ["wsgi.input"].read(min(length, limit))

    return read_body


class GatewayApp:
    """Resolve a request against its domain's rules, record, answer."""

    def __init__(self, table: RoutingTable | None = None, watch: bool = True):
        self.table = table or RoutingTable(make_source())
        self.watch = watch
        self.trusted_proxies = parse_networks(settings.TRUSTED_PROXIES)

    def __call__(self, environ, start_response):
        if self.watch:
            # Started lazily, in the serving process (threads do not survive a fork).
            self.table.start_watching()
        try:
            request = request_from_environ(environ, self.trusted_proxies)
        except BadRequest as error:
            return _send(start_response, Respond(error.status), environ)
        try:
            routes = self.table.get(request.host)
            if routes is None:
                return _send(start_response, not_found(request).response, environ)
            outcome = routes.resolve(request)
            if isinstance(outcome.response, Fetch):
                fetch = outcome.response
                outcome = fetch.then(fetch_document(fetch.url, fetch.headers))
            if isinstance(outcome.response, Proxy):
                upstream = proxy_request(request, outcome.response)
                record_download(
                    build_events(
                        request, routes.organisation, outcome, upstream.status, upstream.target
                    )
                )
                start_response(upstream.status_line, upstream.headers)
                return upstream.body
            record_download(
                build_events(request, routes.organisation, outcome, outcome.response.status)
            )
        except Exception:
            log.exception("gateway failed on %s %s", request.host, request.raw_path)
            return _send(start_response, Respond(503), environ)
        finally:
            close_old_connections()
        return _send(start_response, outcome.response, environ)


def _send(start_response, response: Respond | Redirect, environ) -> list[bytes]:
    status = f"{response.status} {STATUS_TEXT.get(response.status, 'Unknown')}"
    if isinstance(response, Redirect):
        start_response(status, [("Location", response.location), ("Content-Length", "0")])
        return [b""]
    headers = list(response.headers)
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", str(len(response.body))))
    start_response(status, headers)
    return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else response.body]
