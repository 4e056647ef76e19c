"""IP address → network (its AS organisation), from ip-location-db's asn ranges
(CC BY 4.0, DB-IP and RouteViews data), which scripts/geo.sh installs at
VAR_DIR/geo/asn: `ipv4.csv` and `ipv6.csv`, rows `first,last,asn,organisation`
with the addresses as integers, sorted and not overlapping.

No MMDB of these is published as a package, so the ranges are read as they
come: once per process (about a second), then each lookup is a binary search.
"""

from __future__ import annotations

import csv
import socket
from array import array
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

FILES = {4: "ipv4.csv", 6: "ipv6.csv"}
IPV4_MAPPED = bytes(10) + b"\xff\xff"


class NetworkRanges:
    def __init__(self):
        self._families: dict[int, tuple[array | list, array | list, list[str]]] = {}

    @classmethod
    def load(cls, directory: Path | str) -> NetworkRanges:
        """Raises OSError when a file is missing, ValueError when one is not ranges."""
        ranges = cls()
        for version, name in FILES.items():
            ranges._families[version] = _read(Path(directory) / name, version)
        return ranges

    @staticmethod
    def check(directory: Path | str) -> None:
        """What `load` raises when a file is missing or does not start with a
        range, without the second and the memory loading them takes: for
        pages that only say whether networks are looked up."""
        for name in FILES.values():
            next(_ranges(Path(directory) / name), None)

    def organisation(self, ip: str) -> str:
        return self.organisation_of_network(ip)[0]

    def organisation_of_network(self, ip: str) -> tuple[str, bool]:
        """The organisation of `ip` ("" if none), and whether every address
        of its IPv4 /24 network has the same (always False for IPv6)."""
        found = _number(ip)
        if found is None:
            return "", False
        version, number = found
        firsts, lasts, organisations = self._families[version]
        index = bisect_right(firsts, number) - 1
        start, end = number & ~0xFF, number | 0xFF
        if index >= 0 and number <= lasts[index]:
            whole = firsts[index] <= start and end <= lasts[index]
            return organisations[index], version == 4 and whole
        # In the gap between range `index` and the next.
        after_previous = index < 0 or lasts[index] < start
        before_next = index + 1 == len(firsts) or end < firsts[index + 1]
        return "", version == 4 and after_previous and before_next


def _number(ip: str) -> tuple[int, int] | None:
    """(4 or 6, the address as an integer); an IPv4-mapped IPv6 address is IPv4.
    inet_pton, not the ipaddress module: ingestion looks up every event, and
    parsing was most of a lookup's time."""
    try:
        return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, ip), "big")
    except (OSError, ValueError):  # ValueError: a NUL in it
        pass
    try:
        packed = socket.inet_pton(socket.AF_INET6, ip)
    except (OSError, ValueError):
        return None
    if packed[:12] == IPV4_MAPPED:
        return 4, int.from_bytes(packed[12:], "big")
    return 6, int.from_bytes(packed, "big")


def _read(path: Path, version: int) -> tuple[array | list, array | list, list[str]]:
    # IPv4 numbers fit 32-bit arrays (a third of the memory of int lists); IPv6 ones do not.
    firsts: array | list = array("I") if version == 4 else []
    lasts: array | list = array("I") if version == 4 else []
    organisations: list[str] = []
    shared: dict[str, str] = {}  # one string per organisation, not one per range
    for first, last, organisation in _ranges(path):
        firsts.append(first)
        lasts.append(last)
        organisations.append(shared.setdefault(organisation, organisation))
    return firsts, lasts, organisations


def _ranges(path: Path) -> Iterator[tuple[int, int, str]]:
    """(first, last, organisation) of each row, checked as it is read."""
    previous = -1
    with path.open(newline="", encoding="utf-8") as rows:
        for line, row in enumerate(csv.reader(rows), start=1):
            try:
                first, last, organisation = int(row[0]), int(row[1]), row[3]
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{line}: not a range `first,last,asn,name`") from None
            if not previous <= first <= last:
                raise ValueError(f"{path}:{line}: ranges must be sorted by their first address")
            yield first, last, organisation
            previous = first
