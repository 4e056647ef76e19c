"""Which host names an organisation may claim, and proving control of one by DNS.

A claimed domain serves traffic only once its owner publishes the domain's
verification token in a TXT record at `Domain.challenge_name`. Names under
the service's base domain are not claimable: each organisation gets exactly
its own, `<slug>.<GATEWAY_BASE_DOMAIN>`, verified by construction.
"""

from __future__ import annotations

import hmac
import logging

import dns.exception
import dns.nameserver
import dns.resolver
from django.conf import settings
from django.core.exceptions import ValidationError

from apps.accounts.models import Organisation

from .models import Domain, validate_hostname

log = logging.getLogger(__name__)


def claim_problem(organisation: Organisation, hostname: str) -> str | None:
    """Why `hostname` can never be one of the organisation's domains (None: it can,
    unless another organisation already holds it)."""
    try:
        validate_hostname(hostname)
    except ValidationError as error:
        return error.messages[0]
    if hostname in settings.DASHBOARD_HOSTS:
        return f"{hostname} is the dashboard's own host"
    base = settings.GATEWAY_BASE_DOMAIN
    if hostname.endswith("." + base) and hostname != Domain.default_hostname(organisation):
        return f"names under {base} are reserved for organisations' default domains"
    return None


def ensure_default_domain(organisation: Organisation) -> Domain | None:
    """The organisation's default domain, created verified when missing."""
    hostname = Domain.default_hostname(organisation)
    if claim_problem(organisation, hostname):
        log.warning("organisation %s gets no default domain: %s is invalid", organisation, hostname)
        return None
    domain, _ = Domain.objects.get_or_create(
        hostname=hostname, defaults={"organisation": organisation, "verified": True}
    )
    return domain


def resolver() -> dns.resolver.Resolver:
    """A resolver asking DNS_RESOLVERS (the system's when empty)."""
    if not settings.DNS_RESOLVERS:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [_nameserver(item) for item in settings.DNS_RESOLVERS]
    resolver.lifetime = settings.DNS_TIMEOUT
    return resolver


def _nameserver(item: str) -> dns.nameserver.Do53Nameserver:
    """`ip`, `ip:port` or `[ipv6]:port`."""
    if item.startswith("["):
        address, _, port = item[1:].partition("]:")
    elif item.count(":") == 1:
        address, _, port = item.partition(":")
    else:
        address, port = item, ""
    return dns.nameserver.Do53Nameserver(address.rstrip("]"), int(port or 53))


def txt_values(name: str) -> list[str]:
    """The TXT strings at `name`; empty when there are none or DNS cannot say."""
    try:
        answer = resolver().resolve(name, "TXT", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except dns.exception.DNSException as error:
        log.warning("TXT lookup for %s failed: %s", name, error)
        return []
    return [b"".join(record.strings).decode(errors="replace") for record in answer]


def has_challenge_record(domain: Domain) -> bool:
    expected = domain.verification_token.encode()
    return any(
        hmac.compare_digest(value.strip().encode(), expected)
        for value in txt_values(domain.challenge_name)
    )
