"""The gateway's WSGI application: tenant domains are answered here, outside
Django's middleware stack (flow 2 of ARCHITECTURE.md)."""

from __future__ import annotations

import ipaddress
import logging
import re
from urllib.parse import quote

from django.conf import settings

from scarf.proxies import client_address, is_trusted, nearest, parse_networks

from .engine.http import Request, first_header, no_body
from .engine.outcome import Fetch, Proxy, Redirect, Respond, not_found
from .metrics import Counters, Reporter
from .passive import note_backend_answer
from .probes import is_failure
from .proxy import proxy_request
from .recording import build_events, record_download, stamp_events
from .routing import RoutingTable, make_source, redis_client
from .upstream import fetch_document

log = logging.getLogger(__name__)

MAX_TARGET_LENGTH = 8192
STATUS_TEXT = {
    200: "OK",
    301: "Moved Permanently",
    304: "Not Modified",
    307: "Temporary Redirect",
    308: "Permanent Redirect",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    422: "Unprocessable Content",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
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


HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


def is_health_probe(host: str, path: str) -> bool:
    """A health check asked by address, as load balancers and Kubernetes ask
    (`host` normalised): the dashboard answers it, since no tenant's domain
    is an IP address (packages.models refuses one)."""
    if path not in HEALTH_PATHS:
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def authority_of(value: str, host: str) -> str:
    """`host` with the port `value` (a Host header) names, when it names a valid
    one; anything else after the host is dropped, so a URL written back with
    it always points at the domain the request was routed by."""
    port = value.strip().rpartition("]")[2].partition(":")[2]
    if port.isascii() and port.isdigit() and 0 < int(port) < 65536:
        return f"{host}:{int(port)}"
    return host


def request_from_environ(environ: dict, trusted_proxies: tuple) -> Request:
    """Build the engine's Request from a WSGI environ; raises BadRequest."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw is None:  # servers that only give the decoded path
        raw = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe="/;=,:@!$&'()*+~")
        if environ.get("QUERY_STRING"):
            raw += "?" + environ["QUERY_STRING"]
    headers = tuple(
        (_header_name(key), value) for key, value in environ.items() if key.startswith("HTTP_")
    )
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers += ((_header_name(key), environ[key]),)
    return build_request(
        environ.get("REQUEST_METHOD", "GET").upper(),
        raw,
        headers,
        peer=environ.get("REMOTE_ADDR", ""),
        scheme=environ.get("wsgi.url_scheme", "http"),
        trusted_proxies=trusted_proxies,
        read_body=_body_reader(environ),
    )


def build_request(
    method: str,
    raw: str,
    headers: tuple[tuple[str, str], ...],
    peer: str,
    scheme: str,
    trusted_proxies: tuple,
    read_body=no_body,
) -> Request:
    """The engine's Request for a request target as sent and its headers
    (lower-case names); raises BadRequest for what no rule may see."""
    if len(raw) > MAX_TARGET_LENGTH:
        raise BadRequest(414, "request target too long")
    authority, raw = split_target(raw)
    if not raw.startswith("/") or _CONTROL_CHARACTER.search(raw):
        raise BadRequest(400, "malformed request target")
    path, mark, query = raw.partition("?")

    host = authority if authority is not None else first_header(headers, "host") or ""
    client_ip = peer
    if is_trusted(peer, trusted_proxies):
        host = nearest(first_header(headers, "x-forwarded-host") or host)
        forwarded = ",".join(value for name, value in headers if name == "x-forwarded-for")
        client_ip = client_address(peer, forwarded, trusted_proxies)
        proto = nearest(first_header(headers, "x-forwarded-proto") or "").lower()
        scheme = proto if proto in ("http", "https") else scheme
    host, authority = normalise_host(host), host
    if not host:
        raise BadRequest(400, "missing Host header")

    return Request(
        method=method,
        host=host,
        raw_path=path,
        raw_query=query if mark else None,
        headers=headers,
        read_body=read_body,
        client_ip=client_ip,
        scheme=scheme,
        authority=authority_of(authority, host),
    )


def split_target(target: str) -> tuple[str | None, str]:
    """A request target as its authority and its origin form: `http://host:80/p?q`
    (absolute form, as sent to proxies) -> ("host:80", "/p?q"); `/p?q` -> (None,
    "/p?q"). The authority names the host, whatever the Host field says (RFC
    9112 §3.2.2)."""
    absolute = None if target.startswith("/") else _ABSOLUTE_FORM.match(target)
    if absolute is None:
        return None, target
    authority, rest = absolute.groups()
    return authority.rpartition("@")[2], rest if rest.startswith("/") else "/" + rest


_ABSOLUTE_FORM = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#]*)(.*)", re.DOTALL)


_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_header_names: dict[str, str] = {}


def _header_name(key: str) -> str:
    """`HTTP_USER_AGENT` -> `user-agent`, remembered (a few dozen names recur)."""
    name = _header_names.get(key)
    if name is None:
        name = key.removeprefix("HTTP_").replace("_", "-").lower()
        if len(_header_names) < 1000:
            _header_names[key] = name
    return name


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
        self.counters = Counters()
        self.reporter = None if settings.EMBEDDED else Reporter(self.counters, redis_client)

    def start_helpers(self) -> None:
        """The routing watcher and the metrics reporter, in the serving process
        (threads do not survive a fork, so they start lazily)."""
        if self.watch:
            self.table.start_watching()
            if self.reporter is not None:
                self.reporter.start_in_this_process()

    def __call__(self, environ, start_response):
        self.start_helpers()
        try:
            request = request_from_environ(environ, self.trusted_proxies)
        except BadRequest as error:
            return self._send(start_response, Respond(error.status), environ)
        try:
            routes = self.table.get(request.host)
            if routes is None:
                return self._send(start_response, not_found(request).response, environ)
            decision = routes.decide(request)
            outcome = decision.outcome
            if isinstance(outcome.response, Fetch):
                fetch = outcome.response
                document = fetch_document(fetch.url, fetch.headers)
                outcome = fetch.then(document)
                if document is None or document.stale:
                    note_backend_answer(outcome, failed=True)
            if isinstance(outcome.response, Proxy):
                upstream = proxy_request(request, outcome.response)
                note_backend_answer(outcome, failed=is_failure(upstream.status))
                record_download(
                    build_events(
                        request, routes.organisation, outcome, upstream.status, upstream.target
                    )
                )
                self.counters.count(upstream.status, outcome.rule_type or "")
                start_response(upstream.status_line, upstream.headers)
                return upstream.body
            if decision.events:
                record_download(stamp_events(decision.events, request))
            else:  # decided after a fetch
                status = outcome.response.status
                record_download(build_events(request, routes.organisation, outcome, status))
        except Exception:
            log.exception("gateway failed on a request for %s", request.host)
            return self._send(start_response, Respond(503), environ)
        return self._send(start_response, outcome.response, environ, outcome.rule_type or "")

    def _send(self, start_response, response, environ, rule_type: str = "") -> list[bytes]:
        self.counters.count(response.status, rule_type)
        return _send(start_response, response, environ)


def _send(start_response, response: Respond | Redirect, environ) -> list[bytes]:
    status, headers, body = response_fields(response)
    start_response(status, headers)
    return [b"" if environ.get("REQUEST_METHOD") == "HEAD" else body]


def response_fields(response: Respond | Redirect) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers (with Content-Length) and body of an engine response."""
    status = f"{response.status} {STATUS_TEXT.get(response.status, 'Unknown')}"
    if isinstance(response, Redirect):
        return status, [("Location", response.location), ("Content-Length", "0")], b""
    headers = list(response.headers)
    if not any(name.lower() == "content-length" for name, _ in headers):
        headers.append(("Content-Length", str(len(response.body))))
    return status, headers, response.body
