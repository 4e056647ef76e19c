"""Template filters of the dashboard."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from apps.packages.certificates import EdgeView, edge_view
from apps.packages.models import Domain
from apps.security.events import client_of

register = template.Library()


@register.filter
def edge(domain: Domain) -> EdgeView:
    """What the TLS edge holds for the domain (certificates.edge_view)."""
    return edge_view(domain)


@register.filter
def ago(moment: datetime | None) -> str:
    """`3 minutes ago`; `just now` within the last minute (never `0 minutes ago`)."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment)} ago"


@register.filter
def client(user_agent: str) -> str:
    """`Chrome on Android` for a User-Agent string."""
    return client_of(user_agent)
