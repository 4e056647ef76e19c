"""The security log: sign-ins, second factors added or removed, and the
changes that move where users' downloads go."""

from __future__ import annotations

from django.db import models

from apps.accounts.models import Organisation, User


class SecurityEvent(models.Model):
    SIGN_IN = "sign-in"
    TWO_FACTOR = "two-factor"
    TARGET = "target"
    WRITE_TOKEN = "write-token"  # noqa: S105 - an event kind, not a secret
    NEW_OWNER = "new-owner"
    KINDS = [
        (SIGN_IN, "Sign-in"),
        (TWO_FACTOR, "Second factor"),
        (TARGET, "Where downloads go"),
        (WRITE_TOKEN, "New write token"),
        (NEW_OWNER, "New owner"),
    ]
    # What the organisation's owners are e-mailed about.
    NOTIFIED = {TARGET, WRITE_TOKEN, NEW_OWNER}

    organisation = models.ForeignKey(
        Organisation, models.CASCADE, null=True, blank=True, related_name="security_events"
    )
    user = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.CharField(max_length=300, help_text="who, as it read then")
    kind = models.CharField(max_length=20, choices=KINDS)
    summary = models.CharField(max_length=500)
    network = models.CharField(
        max_length=50, blank=True, help_text="the client address's network (/24 or /48)"
    )
    client = models.CharField(max_length=200, blank=True)
    link = models.CharField(
        max_length=300, blank=True, help_text="the page that undoes it (a revision's rollback)"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "created"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.summary} by {self.actor}"

    @property
    def origin(self) -> str:
        """From where, as the e-mail and the log say it."""
        parts = [part for part in (self.network, self.client) if part]
        return ", ".join(parts) or "no request (a background task)"
