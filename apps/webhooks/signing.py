"""Webhook signatures: `X-Scarf-Signature: t=<unix time>,v1=<hex>` where hex is
HMAC-SHA256, keyed with the webhook's secret, of "<t>.<body>".

The timestamp is signed with the body, so a receiver that refuses
signatures older than a few minutes cannot be fed a replayed delivery. Each
attempt is signed anew; the body (and the event id in it) stays the same.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Scarf-Signature"
SCHEME = "v1"
DEFAULT_TOLERANCE = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},{SCHEME}={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = DEFAULT_TOLERANCE
) -> bool:
    """What a receiver does: the header's v1 signature matches and its
    timestamp is within `tolerance` seconds of `now`."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, []).append(value)
    try:
        timestamp = int(fields.get("t", [""])[0])
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in fields.get(SCHEME, []))
