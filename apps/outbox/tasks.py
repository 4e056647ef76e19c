"""The relay: sends queued tasks that the broker refused when their change was saved."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .models import QueuedTask
from .queue import claim, send

BATCH = 500


@shared_task
def relay_queued_tasks() -> int:
    """Send every queued task whose time has come; returns how many the broker took.
    Safe to run twice at once: each task is claimed before it is sent."""
    due = QueuedTask.objects.filter(next_try__lte=timezone.now()).order_by("next_try")[:BATCH]
    return sum(send(queued) for queued in due if claim(queued))
