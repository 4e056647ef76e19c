"""Migration checks: before a package moves to another backend, what the new
backend serves is compared with what the old one serves."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from apps.accounts.models import ApiToken, Organisation, User
from apps.packages.models import Backend, Rule


class MigrationCheck(models.Model):
    """One comparison of two backends of a rule, run by a Celery task.

    `old` and `new` are the backend descriptions compared (the rule's full
    manifest form as each backend serves it, apps.migration_checks.backends);
    `pair` identifies exactly that move, so a guarded switch can ask for the
    latest check of the move it is about to make. `backend` is the alternate
    the new side came from, when it did. `scope` says what was compared where
    a backend cannot list it itself; `report` is apps.migration_checks.compare's
    output plus the backends' labels and item counts.
    """

    PENDING = "pending"
    RUNNING = "running"
    CLEAN = "clean"
    DIFFERENCES = "differences"
    FAILED = "failed"
    STATUSES = [(s, s) for s in (PENDING, RUNNING, CLEAN, DIFFERENCES, FAILED)]
    FINISHED = (CLEAN, DIFFERENCES, FAILED)

    organisation = models.ForeignKey(Organisation, models.CASCADE, related_name="migration_checks")
    rule = models.ForeignKey(
        Rule, models.SET_NULL, null=True, blank=True, related_name="migration_checks"
    )
    backend = models.ForeignKey(
        Backend, models.SET_NULL, null=True, blank=True, related_name="migration_checks"
    )
    old = models.JSONField()
    new = models.JSONField()
    pair = models.CharField(max_length=64)
    scope = models.JSONField(default=dict)
    status = models.CharField(max_length=12, choices=STATUSES, default=PENDING)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_by = models.ForeignKey(User, models.SET_NULL, null=True, blank=True, related_name="+")
    token = models.ForeignKey(ApiToken, models.SET_NULL, null=True, blank=True, related_name="+")
    actor = models.CharField(max_length=300, help_text="who started it, as it read then")
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        indexes = [models.Index(fields=["organisation", "pair", "-created"])]

    def __str__(self) -> str:
        return f"migration check {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    def is_recent(self, now=None) -> bool:
        """Finished within MIGRATION_CHECK_MAX_AGE seconds: what the backends
        served then is still good evidence of what they serve now."""
        if self.finished is None:
            return False
        age = (now or timezone.now()) - self.finished
        return age <= timedelta(seconds=settings.MIGRATION_CHECK_MAX_AGE)

    def summary(self) -> str:
        """The outcome in one line, for people (dashboard, refusals, webhooks)."""
        if self.status == self.FAILED:
            return f"failed: {self.error}"
        if not self.is_finished:
            return "not finished yet"
        counts = (self.report or {}).get("counts", {})
        compared = (self.report or {}).get("compared", 0)
        return (
            f"{compared} compared: {counts.get('missing', 0)} missing and "
            f"{counts.get('different', 0)} different on the new backend, "
            f"{counts.get('extra', 0)} only there"
        )
