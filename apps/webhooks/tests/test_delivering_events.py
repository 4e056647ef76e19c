"""Deliveries to a real HTTP receiver: signed, retried with exponential
back-off after failures, and logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.utils import timezone

from apps.webhooks.models import Delivery
from apps.webhooks.services import send_test_event
from apps.webhooks.signing import verify
from apps.webhooks.tasks import deliver, send_overdue_deliveries

from .conftest import Receiver


def expected_signature(secret: str, timestamp: str, body: bytes) -> str:
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def test_a_delivery_is_signed_with_the_webhooks_secret_over_timestamp_and_body(webhook, receiver):
    delivery = send_test_event(webhook)

    assert deliver(delivery.id, 1) == Delivery.SUCCEEDED
    [(headers, body, path)] = receiver.requests
    timestamp, _, signed = headers["X-Scarf-Signature"].partition(",")
    assert timestamp.startswith("t=")
    assert signed.startswith("v1=")
    assert signed[3:] == expected_signature(webhook.secret, timestamp[2:], body)
    assert verify(webhook.secret, headers["X-Scarf-Signature"], body, now=int(time.time()))
    assert not verify("whsec_other", headers["X-Scarf-Signature"], body, now=int(time.time()))
    assert path == "/hooks/gateway?team=1"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Scarf-Event"] == "webhook.test"
    event = json.loads(body)
    assert (event["type"], event["id"]) == ("webhook.test", str(delivery.event_id))
    assert event["organisation"]["slug"] == webhook.organisation.slug


@pytest.mark.slow
def test_a_delivery_answered_500_is_retried_and_then_succeeds(
    celery_worker, settings, private_urls_allowed, acme, actor
):
    settings.WEBHOOK_RETRY_BASE = 0.2
    receiver = Receiver(statuses=[500, 200])
    try:
        from apps.webhooks.services import create_webhook

        webhook = create_webhook(acme, actor, receiver.url, ["migration_check.finished"])
        delivery = send_test_event(webhook)
        deadline = time.monotonic() + 30
        while delivery.status == Delivery.PENDING and time.monotonic() < deadline:
            time.sleep(0.1)
            delivery.refresh_from_db()
    finally:
        receiver.stop()

    assert delivery.status == Delivery.SUCCEEDED
    assert (delivery.attempts, delivery.response_status, delivery.schedule) == (2, 200, [0.2])
    first, second = receiver.requests
    assert first[1] == second[1] == delivery.body.encode()
    for headers, body, _path in receiver.requests:
        assert verify(webhook.secret, headers["X-Scarf-Signature"], body, now=int(time.time()))


@pytest.fixture
def published():
    """(task name, args, eta) of every task message Celery publishes."""
    messages = []

    def record(sender=None, headers=None, body=None, **kwargs):
        messages.append((sender, tuple(body[0]), headers.get("eta")))

    before_task_publish.connect(record, weak=False)
    yield messages
    before_task_publish.disconnect(record)


def test_failed_attempts_back_off_exponentially_up_to_the_cap_then_give_up(
    settings, webhook, published
):
    settings.WEBHOOK_MAX_ATTEMPTS, settings.WEBHOOK_RETRY_MAX = 5, 100
    receiver = Receiver(statuses=[503])
    webhook.url = receiver.url
    webhook.save()
    delivery = send_test_event(webhook)
    try:
        statuses = [deliver(delivery.id, attempt) for attempt in range(1, 6)]
        duplicate = deliver(delivery.id, 3)
    finally:
        receiver.stop()

    delivery.refresh_from_db()
    assert statuses == ["pending"] * 4 + ["failed"]
    assert duplicate is None
    assert len(receiver.requests) == 5
    assert delivery.schedule == [30, 60, 100, 100]
    assert (delivery.attempts, delivery.response_status) == (5, 503)
    assert delivery.last_error == "HTTP 503: busy, try later"
    retries = [
        (args, eta) for name, args, eta in published if name == "apps.webhooks.tasks.deliver"
    ]
    assert [args for args, _eta in retries] == [(delivery.id, n) for n in (2, 3, 4, 5)]
    assert all(eta is not None for _args, eta in retries)


def test_an_unreachable_receiver_is_logged_and_retried(settings, webhook, receiver):
    receiver.stop()
    delivery = send_test_event(webhook)

    assert deliver(delivery.id, 1) == Delivery.PENDING
    delivery.refresh_from_db()
    assert delivery.response_status is None
    assert delivery.last_error.startswith("no answer:")
    assert delivery.schedule == [30]


def test_the_sweep_queues_retries_the_broker_lost_and_leaves_the_others(webhook, published):
    lost, waiting = send_test_event(webhook), send_test_event(webhook)
    Delivery.objects.filter(id=lost.id).update(
        attempts=2, next_attempt=timezone.now() - timedelta(minutes=10)
    )
    Delivery.objects.filter(id=waiting.id).update(
        attempts=2, next_attempt=timezone.now() - timedelta(minutes=1)
    )

    assert send_overdue_deliveries() == 1
    assert [args for name, args, _eta in published if name.endswith(".deliver")] == [(lost.id, 3)]
