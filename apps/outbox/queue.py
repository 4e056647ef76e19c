"""Queue background work so that a saved change never fails because of the broker.

`enqueue_on_commit("apps.x.tasks.job", 42)` writes the task into the current
transaction; when it commits the task is sent to Celery. If the broker refuses it
(Redis down, a network fault), the request still answers with what it saved: the
task stays in the table and `relay_queued_tasks` sends it once the broker is back.
Tasks sent this way must be safe to run twice (a send whose answer was lost is
sent again); every task in this project is.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import QueuedTask

log = logging.getLogger(__name__)


def enqueue_on_commit(task_name: str, *args) -> QueuedTask:
    """Record the task in the current transaction and send it once that commits."""
    queued = QueuedTask.objects.create(
        name=task_name,
        args=list(args),
        next_try=timezone.now() + timedelta(seconds=settings.OUTBOX_RELAY_AFTER),
    )
    transaction.on_commit(lambda: send(queued))
    return queued


def send(queued: QueuedTask) -> bool:
    """Hand the task to Celery and forget it; on refusal keep it for a later try.
    Never raises: the change it belongs to is already saved."""
    try:
        import_string(queued.name).apply_async(queued.args)  # a task's name is its path
    except Exception as error:
        log.warning("could not queue %s, will retry: %r", queued, error, exc_info=True)
        retry_later(queued, error)
        return False
    QueuedTask.objects.filter(id=queued.id).delete()
    return True


def retry_later(queued: QueuedTask, error: Exception) -> None:
    delay = min(settings.OUTBOX_RELAY_AFTER * 2**queued.attempts, settings.OUTBOX_RETRY_MAX)
    QueuedTask.objects.filter(id=queued.id).update(
        next_try=timezone.now() + timedelta(seconds=delay), last_error=repr(error)[:2000]
    )


def claim(queued: QueuedTask) -> bool:
    """Take the task for one try, unless another relay took it first."""
    taken = QueuedTask.objects.filter(id=queued.id, attempts=queued.attempts).update(
        attempts=queued.attempts + 1
    )
    queued.attempts += 1
    return taken == 1
