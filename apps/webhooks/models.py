"""Organisation webhooks and the log of their deliveries.

The signing secret is generated here and shown to people once, when the
webhook is created (or its secret rotated), then only by its prefix. It is
stored as it is: the service must produce HMAC signatures with it, so a
one-way hash (as API tokens have) cannot work. Whoever can read the
database can therefore sign as the service; rotating the secret is the
answer to a leak.
"""

from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.db.models import Q

from apps.accounts.models import Organisation, User

SECRET_PREFIX = "whsec_"  # noqa: S105 - marks our signing secrets; not a secret itself


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


class Webhook(models.Model):
    """An HTTP endpoint of the organisation's that is sent the events it
    subscribes to (`events`, apps.webhooks.events), signed with `secret`."""

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100, default=new_secret)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "id"]

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def secret_hint(self) -> str:
        """Enough of the secret to tell which one a receiver holds."""
        return self.secret[: len(SECRET_PREFIX) + 4] + "…"

    def wants(self, event_type: str) -> bool:
        return self.active and event_type in self.events


class Delivery(models.Model):
    """One event sent to one webhook, with every attempt's outcome.

    `body` is exactly what is sent (and signed) at each attempt. `schedule`
    lists the back-off, in seconds, before each retry planned so far.
    `dedupe_key` (when set) makes an event reach a webhook once, however
    often it is emitted (a daily summary per day).
    """

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    STATUSES = [(s, s) for s in (PENDING, SUCCEEDED, FAILED)]

    webhook = models.ForeignKey(Webhook, models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=50)
    dedupe_key = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    status = models.CharField(max_length=10, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    schedule = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)
    last_attempt = models.DateTimeField(null=True, blank=True)
    next_attempt = models.DateTimeField(null=True, blank=True)
    delivered = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "dedupe_key"],
                condition=~Q(dedupe_key=""),
                name="one_delivery_per_dedupe_key",
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt"])]

    def __str__(self) -> str:
        return f"{self.event_type} to {self.webhook} ({self.status})"
