"""What the TLS edge asks us: may this host name have a certificate?

Caddy's on-demand TLS obtains a certificate during the first TLS handshake
for a name, and only after `GET /internal/tls/allowed?domain=NAME` has
answered 2xx (deploy/Caddyfile, `on_demand_tls { ask … }`). We say yes to
exactly the names we serve: a verified domain (a claimed one whose DNS
record proved control, or an organisation's default domain) and the
dashboard's own hosts. IP addresses (a client that sent no SNI makes Caddy
ask about one) and anything that is not a host name are refused.

The answer comes from the gateway's routing table, the same in-process
cache that decides whether a host gets traffic: a name asked about again
costs a dictionary lookup, a new one a Redis read (not a database query),
and a verified or deleted domain's change reaches the table within a second.
A flood of made-up names therefore costs us little and makes Caddy order
no certificate (its own rate limit is the second guard).

The endpoint is for the edge only. It answers requests made straight to us
(no X-Forwarded-For: the edge adds one to every request it forwards) from
loopback or a TRUSTED_PROXIES network, such as the compose network; or, when
TLS_ASK_TOKEN is set, requests carrying it as `token`. Everything else at
that path is an ordinary request (a tenant's rules may use any path).
"""

from __future__ import annotations

import hmac
from urllib.parse import parse_qs

from django.conf import settings

from apps.packages.models import is_hostname
from scarf.proxies import is_trusted, parse_networks

from .app import normalise_host

ASK_PATH = "/internal/tls/allowed"
FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")
LOOPBACK = parse_networks(["127.0.0.0/8", "::1/128"])


def certificate_allowed(name: str, table, dashboard_hosts: frozenset[str]) -> bool:
    """Whether the edge may obtain a certificate for `name`, a host name
    (`is_hostname`) as Caddy sends it: the bare server name, no port."""
    return name in dashboard_hosts or table.get(name) is not None


class AskApplication:
    """The WSGI answer to the edge's question, in front of host dispatch."""

    def __init__(self, gateway, dashboard_hosts):
        self.gateway = gateway
        self.dashboard_hosts = frozenset(normalise_host(host) for host in dashboard_hosts)
        self.networks = LOOPBACK + parse_networks(settings.TRUSTED_PROXIES)
        self.token = settings.TLS_ASK_TOKEN

    def is_asked(self, environ: dict) -> bool:
        """A request for the ask endpoint that came from the edge itself."""
        if environ.get("PATH_INFO") != ASK_PATH:
            return False
        if self.token:
            given = self._query(environ).get("token", [""])[0]
            return hmac.compare_digest(given.encode(), self.token.encode())
        if any(environ.get(name) for name in FORWARDING_HEADERS):
            return False
        return is_trusted(environ.get("REMOTE_ADDR", ""), self.networks)

    def __call__(self, environ, start_response):
        if self.gateway.watch:
            self.gateway.table.start_watching()  # changes reach the table, negatives too
        name = self._query(environ).get("domain", [""])[0].strip().lower().removesuffix(".")
        if not is_hostname(name):  # IP addresses, empty or malformed names
            status, body = "403 Forbidden", b"not a host name\n"
        elif certificate_allowed(name, self.gateway.table, self.dashboard_hosts):
            status, body = "200 OK", b"allowed\n"
        else:
            status, body = "404 Not Found", b"not a domain we serve\n"
        start_response(
            status,
            [
                ("Content-Type", "text/plain"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [body]

    @staticmethod
    def _query(environ: dict) -> dict[str, list[str]]:
        try:
            return parse_qs(environ.get("QUERY_STRING", ""), max_num_fields=10)
        except ValueError:  # too many fields
            return {}
