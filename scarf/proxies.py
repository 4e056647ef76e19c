"""Which proxies we believe, and the client address behind them (TRUSTED_PROXIES).

One copy for the gateway (downloads are recorded with the client's address)
and the dashboard (sign-in throttling counts per address). Pure: no Django.

A proxy that forwards a request *appends* the address it saw to
X-Forwarded-For (nginx's `$proxy_add_x_forwarded_for`, cloud load
balancers) or replaces the field with it (Caddy). Either way only the
entries added by proxies we trust can be believed: everything to their left
was written by the client, who may write anything there. So the list is read
from the right, past our own proxies, and the first address that is not one
of them is the client's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)


def is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    if not networks:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(peer: str, forwarded_for: str, networks: tuple[Network, ...]) -> str:
    """The client's address: `peer` unless it is a trusted proxy, then the
    nearest X-Forwarded-For entry that is not a trusted proxy (`forwarded_for`
    is every X-Forwarded-For line joined with commas). A malformed entry ends
    the walk at the proxy that passed it on."""
    address = peer
    if not is_trusted(address, networks):
        return address
    for entry in reversed(forwarded_for.split(",")):
        entry = entry.strip()
        try:
            ipaddress.ip_address(entry)
        except ValueError:
            return address
        address = entry
        if not is_trusted(address, networks):
            return address
    return address


def nearest(value: str) -> str:
    """The value the nearest proxy added to a comma-separated forwarded field."""
    return value.rsplit(",", 1)[-1].strip()
