"""Free TCP ports for servers the tests and benchmarks start themselves."""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

LOWEST_PORT = 10_000

_handed_out: set[int] = set()


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out as the source of outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def own_ports(low: int) -> range:
    """The ports below the ephemeral range that this process may hand out.

    Parallel test workers each get their own slice, so two workers never
    pick the same port for servers that are not bound yet.
    """
    ports = range(LOWEST_PORT, low)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker.startswith("gw") and workers > 1:
        return ports[int(worker[2:]) % workers :: workers]
    return ports


def free_port() -> int:
    """A port that is free now, stays out of the ephemeral range and was not
    handed out before by this process.

    A port the kernel picked (bind to port 0) can be taken again as the
    source port of any outgoing connection before the server binds it, or
    while a server is stopped on purpose and about to start again; busy
    parallel tests made that happen. Ports below the ephemeral range are
    only ever taken by an explicit bind. A port is handed out once, because
    the server meant to bind it may not have done so yet (a test picked the
    gateway's port, then a registry's, and got the same one twice).
    """
    low, _ = ephemeral_range()
    candidates = list(own_ports(low)) if low > LOWEST_PORT + 1000 else []
    random.shuffle(candidates)
    for port in [port for port in candidates if port not in _handed_out][:200]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
