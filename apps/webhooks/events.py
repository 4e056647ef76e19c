"""The events webhooks are sent, and how one is emitted: one Delivery per
subscribed webhook, each sent by a Celery task once the transaction that
emitted it commits.

Every body is `{"id", "type", "created", "organisation": {...}, "data": {...}}`;
`id` identifies the event (the same for every webhook it goes to, and across
retries), so receivers can ignore one they have already handled.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import Organisation
from apps.outbox.queue import enqueue_on_commit

from .models import Delivery, Webhook

BACKEND_HEALTH = "backend.health_changed"
MIGRATION_CHECK = "migration_check.finished"
DAILY_SUMMARY = "downloads.daily_summary"
TEST = "webhook.test"

SUBSCRIBABLE = {
    BACKEND_HEALTH: "a backend of a rule became unhealthy or healthy again",
    MIGRATION_CHECK: "a migration check finished (clean, with differences, or failed)",
    DAILY_SUMMARY: "yesterday's downloads (UTC), once a day",
}


def body_of(event_id: uuid.UUID, organisation: Organisation, event_type: str, data: Any) -> str:
    return json.dumps(
        {
            "id": str(event_id),
            "type": event_type,
            "created": timezone.now().isoformat().replace("+00:00", "Z"),
            "organisation": {
                "id": organisation.id,
                "slug": organisation.slug,
                "name": organisation.name,
            },
            "data": data,
        },
        separators=(",", ":"),
        default=str,
    )


def subscribers(organisation: Organisation, event_type: str) -> list[Webhook]:
    """The organisation's active webhooks that subscribe to `event_type`."""
    return [w for w in organisation.webhooks.filter(active=True) if w.wants(event_type)]


def emit(
    organisation: Organisation,
    event_type: str,
    data: Any,
    *,
    dedupe_key: str = "",
    webhooks: Iterable[Webhook] | None = None,
) -> list[Delivery]:
    """Queue the event for every active webhook of the organisation that
    subscribes to it (or for `webhooks`, whatever they subscribe to). With a
    `dedupe_key`, a webhook that already has it is skipped."""
    if webhooks is None:
        webhooks = subscribers(organisation, event_type)
    event_id = uuid.uuid4()
    body = body_of(event_id, organisation, event_type, data)
    deliveries = []
    for webhook in webhooks:
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(
                    webhook=webhook,
                    event_id=event_id,
                    event_type=event_type,
                    dedupe_key=dedupe_key,
                    body=body,
                    next_attempt=timezone.now(),
                )
        except IntegrityError:
            continue  # this webhook already has the event
        deliveries.append(delivery)
    for delivery in deliveries:
        enqueue_on_commit("apps.webhooks.tasks.deliver", delivery.id, 1)
    return deliveries
