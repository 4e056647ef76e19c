"""One delivery attempt: POST the signed body to the webhook's URL.

The URL is checked and its host resolved anew (apps.webhooks.addresses),
and the connection goes to the address that was checked, with the URL's
host in `Host` and in TLS (SNI and certificate check). Redirects are not
followed: a receiver answers 2xx or the attempt failed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import urllib3
from django.conf import settings

from .addresses import UnsafeURL, check_url
from .models import Delivery
from .signing import HEADER, signature_header

USER_AGENT = "package-gateway-webhooks/1"
ERROR_EXCERPT = 300


@dataclass(frozen=True)
class Attempt:
    """What an attempt got: the HTTP status (None: no answer) and, unless it
    succeeded, why not."""

    status: int | None
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def headers_for(delivery: Delivery, timestamp: int) -> dict[str, str]:
    body = delivery.body.encode()
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Scarf-Event": delivery.event_type,
        "X-Scarf-Event-Id": str(delivery.event_id),
        "X-Scarf-Delivery": str(delivery.id),
        HEADER: signature_header(delivery.webhook.secret, timestamp, body),
    }


def send(delivery: Delivery) -> Attempt:
    try:
        target = check_url(delivery.webhook.url)
    except UnsafeURL as error:
        return Attempt(None, f"not sent: the URL {error}")
    timeout = urllib3.Timeout(connect=settings.WEBHOOK_TIMEOUT, read=settings.WEBHOOK_TIMEOUT)
    if target.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            target.address,
            target.port,
            timeout=timeout,
            retries=False,
            server_hostname=target.host,
            assert_hostname=target.host,
            cert_reqs="CERT_REQUIRED",
        )
    else:
        pool = urllib3.HTTPConnectionPool(
            target.address, target.port, timeout=timeout, retries=False
        )
    headers = {**headers_for(delivery, int(time.time())), "Host": target.host_header}
    try:
        response = pool.urlopen(
            "POST",
            target.target,
            body=delivery.body.encode(),
            headers=headers,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
        )
        excerpt = response.read(ERROR_EXCERPT, decode_content=False)
        response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as error:
        return Attempt(None, f"no answer: {error}")
    finally:
        pool.close()
    if 200 <= response.status < 300:
        return Attempt(response.status)
    text = excerpt.decode("utf-8", errors="replace").strip()
    return Attempt(response.status, f"HTTP {response.status}" + (f": {text}" if text else ""))
