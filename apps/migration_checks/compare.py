"""Two inventories compared: what a switch to the new backend would lose or change.

Pure: no I/O, no Django. `missing` (served by the old backend, not by the
new) and `different` (both serve it, with another digest, hash, integrity
or size) block a switch; `extra` (only the new backend serves it) is for
information. Each list is sorted by item and kept to REPORT_LIMIT entries;
`counts` has the full numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

REPORT_LIMIT = 1000


def compare(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, Any]:
    missing = [{"item": key, "old": old[key]} for key in sorted(old) if key not in new]
    different = [
        {"item": key, "old": old[key], "new": new[key]}
        for key in sorted(old)
        if key in new and new[key] != old[key]
    ]
    extra = [{"item": key, "new": new[key]} for key in sorted(new) if key not in old]
    return {
        "compared": len(old),
        "counts": {"missing": len(missing), "different": len(different), "extra": len(extra)},
        "missing": missing[:REPORT_LIMIT],
        "different": different[:REPORT_LIMIT],
        "extra": extra[:REPORT_LIMIT],
    }


def is_clean(report: Mapping[str, Any]) -> bool:
    """Nothing the old backend serves is missing or different on the new one."""
    counts = report.get("counts", {})
    return counts.get("missing", 1) == 0 and counts.get("different", 1) == 0
