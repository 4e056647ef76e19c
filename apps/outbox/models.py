"""A background task queued in the same database transaction as the change it is for
(a transactional outbox), so a broker that refuses it never loses it or fails the change."""

from __future__ import annotations

from django.db import models


class QueuedTask(models.Model):
    """A Celery task not yet handed to the broker. Sent when its transaction commits;
    kept, and sent again by `relay_queued_tasks`, for as long as the broker refuses it."""

    name = models.CharField(max_length=200)  # the task's dotted path
    args = models.JSONField(default=list)
    created = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    # When the relay may take it: a little after creation (the commit sends it
    # first), then later after every refusal.
    next_try = models.DateTimeField(db_index=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)}"
