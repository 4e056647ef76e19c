"""Managing an organisation's webhooks: every change checked here (URL
safety, event names), for the API and the dashboard alike."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.accounts.models import Organisation
from apps.packages.services import Actor, Rejected

from .addresses import UnsafeURL, check_url
from .events import SUBSCRIBABLE, TEST, emit
from .models import Delivery, Webhook, new_secret

CHANGEABLE = ("url", "description", "events", "active")


def checked_url(url: Any) -> str:
    if not isinstance(url, str) or not url:
        raise Rejected([("url", "is required")])
    try:
        check_url(url)
    except UnsafeURL as error:
        raise Rejected([("url", str(error))]) from None
    return url


def checked_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events:
        raise Rejected([("events", f"name one or more of: {', '.join(SUBSCRIBABLE)}")])
    unknown = [name for name in events if name not in SUBSCRIBABLE]
    if unknown:
        raise Rejected(
            [("events", f"{unknown[0]!r} is not an event (see {', '.join(SUBSCRIBABLE)})")]
        )
    return sorted(set(events))


def create_webhook(
    organisation: Organisation,
    actor: Actor,
    url: str,
    events: list[str],
    description: str = "",
    active: bool = True,
) -> Webhook:
    """A new webhook; its `secret` is for the caller to show once."""
    return Webhook.objects.create(
        organisation=organisation,
        url=checked_url(url),
        events=checked_events(events),
        description=description,
        active=active,
        created_by=actor.user,
    )


def update_webhook(webhook: Webhook, **changes: Any) -> Webhook:
    unknown = sorted(set(changes) - set(CHANGEABLE))
    if unknown:
        raise Rejected([(name, "cannot be changed") for name in unknown])
    if "url" in changes:
        changes["url"] = checked_url(changes["url"])
    if "events" in changes:
        changes["events"] = checked_events(changes["events"])
    for name, value in changes.items():
        setattr(webhook, name, value)
    webhook.save()
    return webhook


def rotate_secret(webhook: Webhook) -> Webhook:
    """A new signing secret; the old one stops working at once."""
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret"])
    return webhook


@transaction.atomic
def send_test_event(webhook: Webhook) -> Delivery:
    """Queue a `webhook.test` event to this webhook, whatever it subscribes to."""
    data = {"message": "A test event: this webhook is reached and its signature verifies."}
    return emit(webhook.organisation, TEST, data, webhooks=[webhook])[0]
