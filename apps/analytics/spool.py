"""A local append-only file that holds events while their store is unreachable.

Appends are fsynced before the gateway answers, so a spooled event is as
durable as one in Redis. Several gateway processes may share one spool
directory, and any of them (or the Celery replay task) may replay it, so:

- writers append to `events.spool` under an exclusive `flock`, and re-open
  the file if it was renamed while they waited for the lock;
- a replayer renames `events.spool` to `replay-<ns>-<pid>.spool` under that
  same lock (rotation: later appends start a fresh file), then replays each
  `replay-*.spool` it can lock, and deletes it only after every event in it
  was delivered.

A crash between delivery and deletion replays a file twice; events keep
their ids and ingestion ignores ids it already has, so nothing is counted
twice. A line torn by a crash mid-append is skipped.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Deliver = Callable[[list[dict[str, Any]]], None]
REPLAY_CHUNK = 1000


class Spool:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.current = self.directory / "events.spool"

    def append(self, events: list[dict[str, Any]]) -> None:
        """Append events durably (written and fsynced when this returns)."""
        data = b"".join(
            json.dumps(event, separators=(",", ":")).encode() + b"\n" for event in events
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            created = not self.current.exists()
            with open(self.current, "ab") as file:
                fcntl.flock(file, fcntl.LOCK_EX)
                if not _same_file(file, self.current):
                    continue  # rotated while we waited for the lock
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            if created:
                _fsync_directory(self.directory)
            return

    def pending(self) -> bool:
        return self.current.exists() or any(self.directory.glob("replay-*.spool"))

    def size(self) -> int:
        """Bytes waiting to be replayed (an operational signal: non-zero means
        the event store was unreachable and is not yet caught up)."""
        if not self.directory.exists():
            return 0
        return sum(path.stat().st_size for path in self.directory.glob("*.spool"))

    def replay(self, deliver: Deliver) -> int:
        """Deliver every spooled event; returns how many were delivered.
        `deliver` raising leaves the remaining files for the next replay."""
        if not self.directory.exists():
            return 0
        self._rotate()
        return sum(
            self._replay_file(path, deliver)
            for path in sorted(self.directory.glob("replay-*.spool"))
        )

    def _rotate(self) -> None:
        if not self.current.exists():
            return
        with open(self.current, "ab") as file:
            fcntl.flock(file, fcntl.LOCK_EX)
            if _same_file(file, self.current):
                self.current.rename(self.directory / f"replay-{time.time_ns()}-{os.getpid()}.spool")
                _fsync_directory(self.directory)

    def _replay_file(self, path: Path, deliver: Deliver) -> int:
        try:
            file = open(path, "rb")  # noqa: SIM115 - held open across the lock
        except FileNotFoundError:
            return 0  # another replayer finished it
        with file:
            try:
                fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # another replayer is on it
            if not _same_file(file, path):
                return 0
            events = _read_events(file)
            for start in range(0, len(events), REPLAY_CHUNK):
                deliver(events[start : start + REPLAY_CHUNK])
            path.unlink()
        log.info("replayed %d spooled events from %s", len(events), path.name)
        return len(events)


def _read_events(file) -> list[dict[str, Any]]:
    events = []
    for line in file:
        try:
            events.append(json.loads(line))
        except ValueError:
            log.warning("skipping a torn line in the event spool")
    return events


def _same_file(file, path: Path) -> bool:
    """Whether the open `file` is still the one at `path` (not renamed or deleted)."""
    try:
        return os.fstat(file.fileno()).st_ino == path.stat().st_ino
    except FileNotFoundError:
        return False


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
