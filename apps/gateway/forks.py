"""Which process this is, cheaply: threads do not survive a fork, so each
serving process starts its own helper threads, and the hot path asks on
every request whether this process already has them (os.getpid() is a
system call; this is an integer read)."""

import os
import threading

_generation = 0


def _forked() -> None:
    global _generation
    _generation += 1


os.register_at_fork(after_in_child=_forked)


def generation() -> int:
    """Changes in a child after every fork."""
    return _generation


class ProcessThread:
    """A daemon thread running `target`, started at most once in each process."""

    def __init__(self, target, name: str):
        self.target = target
        self.name = name
        self._started_in = None
        self._lock = threading.Lock()

    def ensure_started(self) -> None:
        if self._started_in == _generation:
            return
        with self._lock:
            if self._started_in != _generation:
                self._started_in = _generation
                threading.Thread(target=self.target, name=self.name, daemon=True).start()
