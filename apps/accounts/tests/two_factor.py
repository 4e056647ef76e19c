"""Two-factor steps the tests share, each through the pages a person uses.
Codes are computed here from the secret the page shows (RFC 6238), not by
the library under test."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
import time

PASSWORD = "correct horse battery"


def totp(secret: str, at: float | None = None) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6
    return f"{value:06}"


def unspent_code(secret: str) -> str:
    """A code no earlier step of a test spent: the next 30 seconds' (accepted
    too, as clocks drift), since setting up spent the current one."""
    return totp(secret, time.time() + 30)


def log_in(client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def activate_totp(
    client, password: str = PASSWORD, at: float | None = None
) -> tuple[str, list[str]]:
    """Turn on an authenticator app for the signed-in client's user, as the
    pages ask (password again, the shown key, a code); returns the key and the
    recovery codes shown afterwards. The code is the one of time `at` (now
    by default), and setting up spends it: use `unspent_code` afterwards."""
    client.post("/accounts/reauthenticate/", {"password": password})
    page = client.get("/accounts/2fa/totp/activate/").content.decode()
    assert "data:image/svg+xml;base64," in page  # the QR code
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', page)
    secret = secret or re.search(r'value="([A-Z2-7]+)"[^>]*id="authenticator_secret"', page)
    activated = client.post("/accounts/2fa/totp/activate/", {"code": totp(secret.group(1), at)})
    assert activated.status_code == 302, activated.content.decode()
    codes = client.get("/accounts/2fa/recovery-codes/").context["unused_codes"]
    return secret.group(1), codes


def second_factor(client, code: str):
    return client.post("/accounts/2fa/authenticate/", {"code": code})
