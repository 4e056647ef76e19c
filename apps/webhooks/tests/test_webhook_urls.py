"""Only http(s) URLs, and none that reaches the service's own network."""

from __future__ import annotations

import pytest

from apps.packages.services import Rejected
from apps.webhooks.models import Delivery
from apps.webhooks.services import create_webhook, send_test_event
from apps.webhooks.tasks import deliver

REFUSED = [
    ("ftp://hooks.example.com/x", "must be an http:// or https:// URL with a host"),
    ("http://user:pw@203.0.113.9/x", "must not carry a user name or password"),
    ("http://127.0.0.1:8000/x", "127.0.0.1 resolves to a non-public address (127.0.0.1)"),
    ("http://localhost/x", "resolves to a non-public address"),
    ("http://10.1.2.3/x", "non-public address (10.1.2.3)"),
    ("http://169.254.169.254/latest/meta-data", "non-public address (169.254.169.254)"),
    ("http://[::1]/x", "non-public address (::1)"),
    ("http://[::ffff:127.0.0.1]/x", "non-public address"),
    ("http://100.64.0.1/x", "non-public address"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_a_url_outside_the_public_internet_is_refused(acme, actor, url, reason):
    with pytest.raises(Rejected) as refused:
        create_webhook(acme, actor, url, ["migration_check.finished"])

    [(field, message)] = refused.value.errors
    assert field == "url"
    assert reason in message


def test_a_public_address_is_accepted(acme, actor):
    webhook = create_webhook(
        acme, actor, "https://93.184.215.14/hook", ["migration_check.finished"]
    )
    assert webhook.secret.startswith("whsec_")


def test_private_addresses_are_allowed_when_the_setting_says_so(acme, actor, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    webhook = create_webhook(acme, actor, "http://127.0.0.1:9/x", ["migration_check.finished"])
    assert webhook.url == "http://127.0.0.1:9/x"


def test_an_attempt_checks_the_address_again_and_sends_nothing_to_a_private_one(
    settings, webhook, receiver
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    delivery = send_test_event(webhook)

    assert deliver(delivery.id, 1) == Delivery.PENDING
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.last_error.startswith("not sent: the URL 127.0.0.1 resolves to a non-public")


def test_only_known_events_can_be_subscribed(acme, actor):
    with pytest.raises(Rejected) as refused:
        create_webhook(acme, actor, "https://93.184.215.14/hook", ["package.deleted"])
    assert refused.value.errors[0][0] == "events"
