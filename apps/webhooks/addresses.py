"""Where a webhook may point: http(s) URLs whose host resolves to public
addresses only, so a tenant cannot make the service call into its own
network (loopback, private, link-local, cloud metadata...). Checked when a
webhook is saved and again, resolving anew, before every attempt, which
then connects to the address checked (no second lookup to rebind).
WEBHOOK_ALLOW_PRIVATE_URLS lifts the address check (tests, closed networks).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"http": 80, "https": 443}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeURL(ValueError):
    """The URL is not one the service will send to; the message says why."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (`address`) and what to ask for."""

    scheme: str
    host: str
    port: int
    address: str
    target: str  # path and query

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def is_public(address: Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None) or address
    return mapped.is_global and not mapped.is_multicast


def check_form(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path+query) of a well-formed http(s) URL."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL("is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL("must be an http:// or https:// URL with a host")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeURL("must not carry a user name or password")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise UnsafeURL("must not contain spaces or control characters")
    port = port or DEFAULT_PORTS[parts.scheme]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, target


def resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UnsafeURL(f"{host} does not resolve") from None
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))


def check_url(url: str) -> Target:
    """The URL's target, or UnsafeURL: malformed, not http(s), or (unless
    WEBHOOK_ALLOW_PRIVATE_URLS) any address of its host not public."""
    scheme, host, port, target = check_form(url)
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeURL(f"{host} does not resolve")
    if not settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        private = [str(address) for address in addresses if not is_public(address)]
        if private:
            raise UnsafeURL(f"{host} resolves to a non-public address ({private[0]})")
    return Target(scheme, host, port, str(addresses[0]), target)
