"""Ports for the servers tests start: never the same one twice, and never
one another parallel worker may pick."""

from __future__ import annotations

import socket

from scarf import ports


def test_a_port_is_handed_out_once_even_if_nothing_bound_it():
    picked = [ports.free_port() for _ in range(300)]
    assert len(set(picked)) == len(picked)


def test_a_port_in_use_is_not_handed_out():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports.free_port()))
        busy = sock.getsockname()[1]
        ports._handed_out.discard(busy)  # as if another process had bound it
        assert busy not in {ports.free_port() for _ in range(300)}


def test_parallel_workers_get_disjoint_ports(monkeypatch):
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    slices = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        slices.append(set(ports.own_ports(32768)))
    assert sum(len(each) for each in slices) == len(set().union(*slices))
    assert set().union(*slices) == set(range(ports.LOWEST_PORT, 32768))


def test_outside_parallel_workers_every_port_below_the_ephemeral_range_is_used(monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    monkeypatch.delenv("PYTEST_XDIST_WORKER_COUNT", raising=False)
    assert ports.own_ports(32768) == range(ports.LOWEST_PORT, 32768)
