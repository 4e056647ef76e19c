"""Free TCP ports for servers the tests and benchmarks start themselves."""

from __future__ import annotations

import random
import socket
from pathlib import Path

LOWEST_PORT = 10_000


def ephemeral_range() -> tuple[int, int]:
    """The ports the kernel hands out as the source of outgoing connections."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port that is free now and stays out of the ephemeral range.

    A port the kernel picked (bind to port 0) can be taken again as the
    source port of any outgoing connection before the server binds it, or
    while a server is stopped on purpose and about to start again; busy
    parallel tests made that happen. Ports below the ephemeral range are
    only ever taken by an explicit bind.
    """
    low, _ = ephemeral_range()
    candidates = list(range(LOWEST_PORT, low)) if low > LOWEST_PORT + 1000 else []
    random.shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
