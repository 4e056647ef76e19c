"""Passive health signals: how proxied requests and upstream fetches of rules
with alternate backends fared, counted per backend for the health checks.

Counting costs a dictionary update in the request; a flusher thread adds the
counts to a Redis hash once a second (off the request path), and the health
task (apps.packages.health) takes and clears them at each check. Embedded
mode has no Redis and runs the checks in the serving process: the counts stay
in memory there. Best effort: counts lost to a Redis outage only delay a
failover until the active checks notice.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.conf import settings

from . import forks
from .engine.outcome import Outcome
from .routing import redis_client

log = logging.getLogger(__name__)

PASSIVE_KEY = "backends:passive"
FLUSH_INTERVAL = 1.0
FAILED, SUCCEEDED = "f", "s"


def backend_key(rule_ref: str, backend_id: int | None) -> str:
    """`<rule id>:<backend id>`, or `<rule id>:primary` for the rule's own backend."""
    return f"{rule_ref}:{backend_id if backend_id is not None else 'primary'}"


class PassiveCounter:
    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[str, list[int]] = {}
        self._flusher = forks.ProcessThread(self._flush_forever, "passive-health")

    def note(self, outcome: Outcome, failed: bool) -> None:
        """Count one answer of the backend that served `outcome`; outcomes of
        rules without alternates carry no backend and are not counted."""
        fields = outcome.captures[0].fields if outcome.captures else None
        if not fields or "backend" not in fields:
            return
        key = backend_key(outcome.rule_ref, fields.get("backend_id"))
        with self._lock:
            counts = self._counts.setdefault(key, [0, 0])
            counts[0 if failed else 1] += 1
        if not settings.EMBEDDED:
            self._flusher.ensure_started()

    def take(self) -> dict[str, tuple[int, int]]:
        """The counts gathered in this process since the last take, cleared."""
        with self._lock:
            counts, self._counts = self._counts, {}
        return {key: (failures, successes) for key, (failures, successes) in counts.items()}

    def _flush_forever(self) -> None:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
        stop = threading.Event()
        while not stop.wait(FLUSH_INTERVAL):
            counts = self.take()
            if not counts:
                continue
            try:
                pipe = client.pipeline(transaction=False)
                for key, (failures, successes) in counts.items():
                    if failures:
                        pipe.hincrby(PASSIVE_KEY, f"{key}:{FAILED}", failures)
                    if successes:
                        pipe.hincrby(PASSIVE_KEY, f"{key}:{SUCCEEDED}", successes)
                pipe.execute()
            except redis.RedisError:
                log.warning("could not report passive backend health", exc_info=True)


counter = PassiveCounter()


def note_backend_answer(outcome: Outcome, failed: bool) -> None:
    counter.note(outcome, failed)


def collect() -> dict[str, tuple[int, int]]:
    """Every backend's (failures, successes) since the previous collect, cleared."""
    if settings.EMBEDDED:
        return counter.take()
    pipe = redis_client().pipeline(transaction=True)
    pipe.hgetall(PASSIVE_KEY)
    pipe.delete(PASSIVE_KEY)
    raw, _ = pipe.execute()
    counts: dict[str, list[int]] = {}
    for name, value in raw.items():
        key, _, kind = name.decode().rpartition(":")
        pair = counts.setdefault(key, [0, 0])
        pair[0 if kind == FAILED else 1] += int(value)
    return {key: (failures, successes) for key, (failures, successes) in counts.items()}
