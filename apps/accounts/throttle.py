"""Sign-in throttling: wrong passwords are counted per account and client address.

After `LOGIN_FAILURE_LIMIT` failures for one e-mail address from one client
address, that pair may not sign in for `LOGIN_LOCKOUT_SECONDS`, even with the
right password; a successful sign-in clears the count. Counting per pair keeps
an attacker elsewhere from locking the owner out. Counts live in the cache
(Redis in production, shared by every process) under keyed hashes, so the
cache holds no e-mail addresses.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac

from scarf import proxies
from scarf.proxies import parse_networks

log = logging.getLogger(__name__)


def client_address(request) -> str:
    """The peer's address; behind trusted proxies, the address the nearest
    of them saw (scarf.proxies: the client cannot choose it)."""
    networks = parse_networks(settings.TRUSTED_PROXIES)
    peer = request.META.get("REMOTE_ADDR", "")
    return proxies.client_address(peer, request.META.get("HTTP_X_FORWARDED_FOR", ""), networks)


def _key(email: str, address: str) -> str:
    digest = salted_hmac("login-failures", f"{email.strip().lower()}\n{address}").hexdigest()
    return f"login-failures:{digest}"


def locked_out(email: str, address: str) -> bool:
    return cache.get(_key(email, address), 0) >= settings.LOGIN_FAILURE_LIMIT


def record_failure(email: str, address: str) -> int:
    """Count one wrong password; reaching the limit starts a full lockout period."""
    key = _key(email, address)
    cache.add(key, 0, timeout=settings.LOGIN_LOCKOUT_SECONDS)
    try:
        failures = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        failures = 1
    if failures == settings.LOGIN_FAILURE_LIMIT:
        cache.touch(key, timeout=settings.LOGIN_LOCKOUT_SECONDS)
        # The address, for an operator's ban list; never the account's e-mail address.
        log.warning("sign-in locked after %d failures from %s", failures, address)
    return failures


def clear(email: str, address: str) -> None:
    cache.delete(_key(email, address))


def lockout_minutes() -> int:
    return max(1, math.ceil(settings.LOGIN_LOCKOUT_SECONDS / 60))
