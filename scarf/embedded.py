"""Embedded mode's stand-in for Celery beat: the periodic tasks run in a
thread of the serving process, so `make run` needs no worker and no Redis."""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)

# Beat entries that need Redis (the event stream) have no work in embedded mode.
REDIS_ONLY_TASKS = {"ingest-events", "replay-event-spool"}


def embedded_schedule() -> dict[str, tuple[str, float]]:
    """Entry name -> (task name, interval in seconds) of the beat entries embedded mode runs."""
    return {
        name: (entry["task"], float(entry["schedule"]))
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items()
        if name not in REDIS_ONLY_TASKS
    }


def run_due(schedule: dict[str, tuple[str, float]], next_run: dict[str, float], now: float) -> None:
    """Run every entry whose time has come, in this thread, and plan its next run."""
    for name, (task, interval) in schedule.items():
        if next_run.get(name, now) > now:
            continue
        try:
            import_string(task).apply(throw=True)  # task names are their dotted paths
        except Exception:
            log.exception("periodic task %s failed", task)
        next_run[name] = now + interval


def start_embedded_beat() -> threading.Thread:
    schedule = embedded_schedule()

    def loop():
        next_run: dict[str, float] = {}
        while True:
            run_due(schedule, next_run, time.monotonic())
            close_old_connections()
            time.sleep(1)

    thread = threading.Thread(target=loop, name="embedded-beat", daemon=True)
    thread.start()
    return thread
