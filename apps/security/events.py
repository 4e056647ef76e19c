"""Writing the security log, and e-mailing the organisation's owners about
the changes that move where users' downloads go (through the outbox, so a
broker outage delays the e-mail but never loses it or the change)."""

from __future__ import annotations

import ipaddress

import ua_parser

from apps.accounts.throttle import client_address
from apps.outbox.queue import enqueue_on_commit

from .middleware import current_request
from .models import SecurityEvent

NETWORK_PREFIX = {4: 24, 6: 48}


def network_of(address: str) -> str:
    """The address's network, which tells where without naming the machine."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    return str(ipaddress.ip_network(f"{ip}/{NETWORK_PREFIX[ip.version]}", strict=False))


def client_of(user_agent: str) -> str:
    if not user_agent:
        return ""
    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else "unknown client"
    system = parsed.os.family if parsed.os else ""
    return f"{browser} on {system}"[:200] if system else browser[:200]


def origin() -> tuple[str, str]:
    """The network and client of the request being answered ("" outside one)."""
    request = current_request.get()
    if request is None:
        return "", ""
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    return network_of(client_address(request)), client_of(user_agent)


def request_user():
    """The signed-in person (or token's creator) of the request being answered."""
    user = getattr(current_request.get(), "user", None)
    return user if user is not None and user.is_authenticated else None


def actor_of(user) -> str:
    return user.email if user is not None else "system"


def record(kind: str, summary: str, *, user=None, organisation=None, actor="", link=""):
    """Log the event; the owners of the organisation hear of the kinds they must."""
    network, client = origin()
    event = SecurityEvent.objects.create(
        organisation=organisation,
        user=user,
        actor=(actor or actor_of(user))[:300],
        kind=kind,
        summary=summary[:500],
        network=network,
        client=client,
        link=link,
    )
    if organisation is not None and kind in SecurityEvent.NOTIFIED:
        enqueue_on_commit("apps.security.tasks.email_owners", event.id)
    return event
