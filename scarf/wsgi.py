"""WSGI entry point: dashboard hosts go to Django, every other host to the gateway.

The gateway never passes through Django's middleware stack, so a download
costs a dictionary lookup and a rule match, not a full Django request.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scarf.settings")

django_application = get_wsgi_application()

from django.conf import settings  # noqa: E402  (after Django is set up)

from apps.gateway.app import (  # noqa: E402
    GatewayApp,
    is_health_probe,
    normalise_host,
    split_target,
)
from apps.gateway.edge import AskApplication  # noqa: E402


class HostDispatcher:
    """The TLS edge's question (apps/gateway/edge.py) first, then by host."""

    def __init__(self, dashboard, gateway, dashboard_hosts):
        self.dashboard = dashboard
        self.gateway = gateway
        self.dashboard_hosts = frozenset(normalise_host(h) for h in dashboard_hosts)
        self.probe_host = next(iter(dashboard_hosts), "")
        self.ask = AskApplication(gateway, dashboard_hosts)

    def __call__(self, environ, start_response):
        if self.ask.is_asked(environ):
            return self.ask(environ, start_response)
        authority, _ = split_target(environ.get("RAW_URI") or environ.get("REQUEST_URI") or "/")
        if authority is not None:  # an absolute-form target names the host (RFC 9112 §3.2.2)
            environ["HTTP_HOST"] = authority
        host = normalise_host(environ.get("HTTP_HOST", ""))
        if host in self.dashboard_hosts:
            return self.dashboard(environ, start_response)
        if self.probe_host and is_health_probe(host, environ.get("PATH_INFO", "")):
            environ["HTTP_HOST"] = self.probe_host  # a host Django's ALLOWED_HOSTS has
            return self.dashboard(environ, start_response)
        return self.gateway(environ, start_response)


gateway_application = GatewayApp()
application = HostDispatcher(django_application, gateway_application, settings.DASHBOARD_HOSTS)
