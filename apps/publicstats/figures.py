"""Download counts as anyone may see them.

A count under the threshold k (PUBLIC_STATS_MIN_COUNT) reads "< k": with a
handful of downloads, an exact figure could tell who downloaded (the one
user who installed it yesterday). Larger counts are rounded down to three
significant digits at most (1.2k, 12k, 123k, 1.2M), never overstated.
"""

from __future__ import annotations

UNITS = ((10**9, "G"), (10**6, "M"), (10**3, "k"))


def public_figure(count: int, threshold: int) -> str:
    if count < threshold:
        return f"< {threshold}"
    for size, unit in UNITS:
        if count >= size:
            return _rounded_down(count, size) + unit
    return str(count)


def _rounded_down(count: int, size: int) -> str:
    """`count` in `size` units: one decimal under 10 units (1.2), none above (12)."""
    if count < 10 * size:
        tenths = count * 10 // size
        return f"{tenths // 10}.{tenths % 10}" if tenths % 10 else str(tenths // 10)
    return str(count // size)
