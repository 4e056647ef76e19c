"""The gateway's counters: responses by status and rule type, per process.

Counting sits on the hot path, so it must cost next to nothing: each thread
counts in a dictionary of its own (no lock, no lost increment), and a
reporter thread publishes the process's running totals to Redis every
second under `metrics:gateway:<worker>`, a key that expires when its worker
is gone. The metrics view (scarf/metrics.py) sums the workers.
"""

from __future__ import annotations

import logging
import os
import socket
import threading

import redis

from . import forks

log = logging.getLogger(__name__)

WORKER_KEY = "metrics:gateway:"
REPORT_INTERVAL = 1.0
WORKER_KEY_TTL = 300


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Counters:
    """(status, rule type) -> responses, counted per thread and summed on demand."""

    def __init__(self):
        self._local = threading.local()
        self._tables: list[dict] = []
        self._lock = threading.Lock()

    def count(self, status: int, rule_type: str) -> None:
        try:
            table = self._local.table
        except AttributeError:
            table = self._local.table = {}
            with self._lock:
                self._tables.append(table)
        key = (status, rule_type)
        table[key] = table.get(key, 0) + 1

    def totals(self) -> dict[tuple[int, str], int]:
        with self._lock:
            tables = list(self._tables)
        merged: dict[tuple[int, str], int] = {}
        for table in tables:
            for key, value in list(table.items()):
                merged[key] = merged.get(key, 0) + value
        return merged


def encode_totals(totals: dict[tuple[int, str], int]) -> dict[str, int]:
    return {f"{status}|{rule_type}": value for (status, rule_type), value in totals.items()}


def decode_totals(raw: dict[bytes, bytes]) -> dict[tuple[int, str], int]:
    totals = {}
    for field, value in raw.items():
        status, _, rule_type = field.decode().partition("|")
        totals[(int(status), rule_type)] = int(value)
    return totals


class Reporter:
    """Publishes a process's counters to Redis every REPORT_INTERVAL seconds."""

    def __init__(self, counters: Counters, client_factory):
        self.counters = counters
        self.client_factory = client_factory
        self.thread = forks.ProcessThread(self._run, "metrics-reporter")

    def start_in_this_process(self) -> None:
        self.thread.ensure_started()

    def _run(self) -> None:
        client = self.client_factory()
        key = WORKER_KEY + worker_name()
        stop = threading.Event()
        while not stop.wait(REPORT_INTERVAL):
            totals = self.counters.totals()
            if not totals:
                continue
            try:
                pipe = client.pipeline(transaction=True)
                pipe.hset(key, mapping=encode_totals(totals))
                pipe.expire(key, WORKER_KEY_TTL)
                pipe.execute()
            except redis.RedisError:
                log.warning("could not publish gateway metrics", exc_info=True)


def gateway_totals(client: redis.Redis) -> dict[tuple[int, str], int]:
    """Every live worker's counters, summed."""
    summed: dict[tuple[int, str], int] = {}
    for key in client.scan_iter(match=WORKER_KEY + "*"):
        for item, value in decode_totals(client.hgetall(key)).items():
            summed[item] = summed.get(item, 0) + value
    return summed
