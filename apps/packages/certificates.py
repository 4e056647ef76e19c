"""What the TLS edge holds for a domain: its certificate, and whether DNS sends
clients to us at all.

Certificates are read from Caddy's storage (CADDY_STORAGE, the directory its
`storage file_system` option names, mounted read-only where the dashboard
runs), not from its admin API: Caddy 2.6's admin API has no endpoint that
lists managed certificates, the admin API is per instance while several
edges share one storage (README, scale-out), and reading files needs no
network access from the dashboard to the edge. Caddy keeps each certificate
at `certificates/<issuer>/<name>/<name>.crt` (PEM, leaf first).

A verified domain without a certificate usually means no client has reached
us over HTTPS for it yet (the certificate is obtained on the first
handshake) or that its DNS does not point at the edge, so no handshake ever
comes. EDGE_ADDRESSES names the edge's public addresses; the domain's A and
AAAA records are compared with them, and a mismatch is said, not left to
fail silently.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dns.exception
import dns.resolver
from django.conf import settings
from django.core.cache import cache

from .domains import resolver

log = logging.getLogger(__name__)

DNS_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Certificate:
    issuer: str  # the issuing CA's common name (or organisation)
    not_before: datetime
    not_after: datetime

    @property
    def expired(self) -> bool:
        return self.not_after <= datetime.now(UTC)


@dataclass(frozen=True)
class DnsView:
    """Where the domain's name leads: its addresses, and whether they include
    one of EDGE_ADDRESSES (None when the name does not resolve)."""

    addresses: tuple[str, ...]
    points_here: bool | None

    @property
    def problem(self) -> str:
        expected = ", ".join(settings.EDGE_ADDRESSES)
        if not self.addresses:
            return f"its name has no A or AAAA record yet: point it at {expected}"
        if self.points_here is False:
            found = ", ".join(self.addresses)
            return f"its DNS points at {found}, not at this service ({expected})"
        return ""


@dataclass(frozen=True)
class EdgeView:
    known: bool  # CADDY_STORAGE is set: `certificate` None means there is none
    certificate: Certificate | None
    dns: DnsView | None  # only for a verified domain without a valid certificate


def edge_view(domain) -> EdgeView:
    """The domain's certificate, and where its DNS points when that may be why
    it has none (asked only when EDGE_ADDRESSES says what to compare with)."""
    certificate = current_certificate(domain.hostname)
    valid = certificate is not None and not certificate.expired
    if valid or not domain.verified or not settings.EDGE_ADDRESSES:
        return EdgeView(bool(settings.CADDY_STORAGE), certificate, None)
    return EdgeView(bool(settings.CADDY_STORAGE), certificate, dns_view(domain.hostname))


def current_certificate(hostname: str) -> Certificate | None:
    """The certificate the edge holds for `hostname` that expires last, or None
    (none yet, or CADDY_STORAGE not set)."""
    if not settings.CADDY_STORAGE:
        return None
    found = []
    for path in Path(settings.CADDY_STORAGE).glob(f"certificates/*/{hostname}/{hostname}.crt"):
        try:
            found.append(read_certificate(path.read_bytes()))
        except (OSError, ValueError) as error:
            log.warning("unreadable certificate %s: %s", path, error)
    return max(found, key=lambda certificate: certificate.not_after, default=None)


def dns_view(hostname: str) -> DnsView:
    """The domain's addresses as the configured resolvers see them (cached)."""
    key = f"edge-dns:{hostname}"
    cached = cache.get(key)
    if cached is None:
        cached = sorted(_addresses(hostname))
        cache.set(key, cached, DNS_CACHE_SECONDS)
    addresses = tuple(cached)
    points_here = bool(set(settings.EDGE_ADDRESSES) & set(addresses)) if addresses else None
    return DnsView(addresses, points_here)


def _addresses(hostname: str) -> set[str]:
    found: set[str] = set()
    for kind in ("A", "AAAA"):
        try:
            answer = resolver().resolve(hostname, kind, search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            continue
        except dns.exception.DNSException as error:
            log.warning("%s lookup for %s failed: %s", kind, hostname, error)
            continue
        found.update(record.to_text() for record in answer)
    return found


# --- Reading a certificate (X.509 in DER, the few fields we show) ------------------------------

COMMON_NAME = bytes.fromhex("550403")  # 2.5.4.3
ORGANISATION = bytes.fromhex("55040a")  # 2.5.4.10


def read_certificate(pem: bytes) -> Certificate:
    """The issuer and validity of the first certificate in a PEM file."""
    text = pem.decode("ascii", "replace")
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    if begin not in text or end not in text.split(begin, 1)[1]:
        raise ValueError("no PEM certificate")
    der = base64.b64decode(text.split(begin, 1)[1].split(end, 1)[0])
    certificate = _children(der, *_element(der, 0)[1:])
    tbs = _children(der, certificate[0][1], certificate[0][2])
    fields = tbs[1:] if tbs[0][0] == 0xA0 else tbs  # [0] version, when present
    issuer, validity = fields[2], fields[3]
    not_before, not_after = _children(der, validity[1], validity[2])
    return Certificate(
        issuer=_name(der, issuer),
        not_before=_time(der, not_before),
        not_after=_time(der, not_after),
    )


def _element(data: bytes, offset: int) -> tuple[int, int, int]:
    """(tag, content start, content end) of the DER element at `offset`."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[offset], data[offset + 1]
    start = offset + 2
    if length & 0x80:
        size = length & 0x7F
        if size == 0 or size > 4:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[start : start + size], "big")
        start += size
    if start + length > len(data):
        raise ValueError("truncated DER")
    return tag, start, start + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    children = []
    while start < end:
        child = _element(data, start)
        children.append(child)
        start = child[2]
    return children


def _name(data: bytes, name: tuple[int, int, int]) -> str:
    """A Name's common name, else its organisation."""
    values = {}
    for _set_tag, set_start, set_end in _children(data, name[1], name[2]):
        for _tag, start, end in _children(data, set_start, set_end):
            oid, value = _children(data, start, end)[:2]
            values[data[oid[1] : oid[2]]] = data[value[1] : value[2]].decode("utf-8", "replace")
    return values.get(COMMON_NAME) or values.get(ORGANISATION) or ""


def _time(data: bytes, element: tuple[int, int, int]) -> datetime:
    text = data[element[1] : element[2]].decode("ascii")
    layout = "%y%m%d%H%M%SZ" if element[0] == 0x17 else "%Y%m%d%H%M%SZ"
    return datetime.strptime(text, layout).replace(tzinfo=UTC)
