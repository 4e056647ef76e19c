"""Sending deliveries (with retries and exponential back-off), re-sending
the overdue ones, and the daily download summaries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from celery import current_app, shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Organisation

from .events import DAILY_SUMMARY, emit, subscribers
from .models import Delivery
from .sending import send
from .summaries import daily_summary

log = logging.getLogger(__name__)

# A retry the broker should have run this long ago is sent by the sweep instead.
OVERDUE_GRACE = timedelta(minutes=5)
# Yesterday's summary waits this long past midnight (UTC), for the last events to be ingested.
SUMMARY_DELAY = timedelta(minutes=10)


def backoff(attempt: int) -> float:
    """Seconds to wait after failed attempt number `attempt` (1, 2, ...):
    WEBHOOK_RETRY_BASE doubled each time, at most WEBHOOK_RETRY_MAX."""
    return min(settings.WEBHOOK_RETRY_BASE * 2 ** (attempt - 1), settings.WEBHOOK_RETRY_MAX)


def _claim(delivery_id: int, attempt: int) -> Delivery | None:
    """Take attempt `attempt` of the delivery, unless it is done or that
    attempt was already taken (a duplicate of this task)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update().select_related("webhook").filter(id=delivery_id)
        ).first()
        if delivery is None or delivery.status != Delivery.PENDING:
            return None
        if delivery.attempts != attempt - 1:
            return None
        delivery.attempts, delivery.last_attempt = attempt, timezone.now()
        delivery.save(update_fields=["attempts", "last_attempt"])
        return delivery


@shared_task
def deliver(delivery_id: int, attempt: int) -> str | None:
    """Make attempt number `attempt` of a delivery; after a failure, plan the
    next one `backoff(attempt)` seconds later, up to WEBHOOK_MAX_ATTEMPTS.
    Safe to run twice: an attempt is made once. Returns the delivery's status."""
    delivery = _claim(delivery_id, attempt)
    if delivery is None:
        return None
    result = send(delivery)
    delivery.response_status, delivery.last_error = result.status, result.error
    fields = ["response_status", "last_error", "status", "next_attempt"]
    if result.succeeded:
        delivery.status, delivery.next_attempt = Delivery.SUCCEEDED, None
        delivery.delivered = timezone.now()
        fields.append("delivered")
    elif attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt = Delivery.FAILED, None
    else:
        countdown = backoff(attempt)
        delivery.next_attempt = timezone.now() + timedelta(seconds=countdown)
        delivery.schedule = [*delivery.schedule, countdown]
        fields.append("schedule")
    delivery.save(update_fields=fields)
    if not result.succeeded:
        log.info("webhook delivery %s attempt %s failed: %s", delivery.id, attempt, result.error)
    if delivery.status == Delivery.PENDING and not current_app.conf.task_always_eager:
        # In-process (embedded mode), the sweep sends it when due instead.
        deliver.apply_async((delivery.id, attempt + 1), countdown=delivery.schedule[-1])
    return delivery.status


@shared_task
def send_overdue_deliveries() -> int:
    """Queue the next attempt of pending deliveries whose time has passed and
    whose queued retry never ran (a lost broker message; in embedded mode,
    every retry). Returns how many were queued."""
    grace = timedelta(0) if current_app.conf.task_always_eager else OVERDUE_GRACE
    due = Delivery.objects.filter(
        status=Delivery.PENDING, next_attempt__lte=timezone.now() - grace
    ).values_list("id", "attempts")[:1000]
    for delivery_id, attempts in due:
        deliver.delay(delivery_id, attempts + 1)
    return len(due)


@shared_task
def send_daily_summaries(now: datetime | None = None) -> int:
    """Emit yesterday's (UTC) download summary to every webhook subscribed to
    it that has not had it yet. Runs hourly; safe to run any number of
    times. Returns how many deliveries were queued."""
    now = now or timezone.now()
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)
    if now - midnight < SUMMARY_DELAY:
        return 0
    day = midnight.date() - timedelta(days=1)
    queued = 0
    organisations = Organisation.objects.filter(webhooks__active=True).distinct()
    for organisation in organisations:
        hooks = subscribers(organisation, DAILY_SUMMARY)
        if not hooks:
            continue
        summary = daily_summary(organisation, day)
        dedupe_key = f"{DAILY_SUMMARY}:{day.isoformat()}"
        queued += len(
            emit(organisation, DAILY_SUMMARY, summary, dedupe_key=dedupe_key, webhooks=hooks)
        )
    return queued
