"""Audit the pinned dependencies for known vulnerabilities (CI runs
`python -m scarf.audit requirements.txt`).

pip-audit resolves the requirements through pip's own configuration and asks
a vulnerability service about each release. A known vulnerability fails the
run, naming the fixed versions to upgrade to. When the service cannot be
reached, or knows nothing of the releases (a mirror without per-release
data), the run only warns: CI must not depend on a service outside the
package index being up.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# What pip-audit says when it could not ask the service (or the index) at all.
UNREACHABLE = (
    "ConnectionError",
    "ServiceError",
    "Max retries exceeded",
    "Failed to establish a new connection",
    "Name or service not known",
    "Temporary failure in name resolution",
    "timed out",
    "Could not connect",
    "Network is unreachable",
)


@dataclass(frozen=True)
class Verdict:
    exit_code: int
    message: str


def judge(report: dict[str, Any] | None, stderr: str) -> Verdict:
    """What CI should do with pip-audit's JSON `report` (None when it wrote none)."""
    if report is None:
        if any(marker in stderr for marker in UNREACHABLE):
            return Verdict(0, "WARNING: dependencies not audited, the service is unreachable")
        return Verdict(1, f"pip-audit failed:\n{stderr.strip()}")
    dependencies = report.get("dependencies", [])
    vulnerable = [d for d in dependencies if d.get("vulns")]
    if vulnerable:
        lines = [
            f"{d['name']} {d['version']}: {vuln['id']}"
            f" (fixed in {', '.join(vuln.get('fix_versions') or ['no release yet'])})"
            for d in vulnerable
            for vuln in d["vulns"]
        ]
        return Verdict(1, "Known vulnerabilities; upgrade these pins:\n" + "\n".join(lines))
    skipped = [d for d in dependencies if "skip_reason" in d]
    if dependencies and len(skipped) == len(dependencies):
        return Verdict(
            0,
            f"WARNING: none of the {len(dependencies)} dependencies could be audited "
            "(the vulnerability service is unreachable or knows none of these releases)",
        )
    if skipped:
        names = ", ".join(sorted(d["name"] for d in skipped))
        return Verdict(0, f"No known vulnerabilities; WARNING: not audited: {names}")
    return Verdict(0, f"No known vulnerabilities in {len(dependencies)} dependencies")


def audit(requirements: str) -> Verdict:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "report.json"
        completed = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
            [
                sys.executable,
                "-m",
                "pip_audit",
                "--requirement",
                requirements,
                "--format",
                "json",
                "--output",
                str(output),
                "--progress-spinner",
                "off",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        text = output.read_text() if output.exists() else ""
    try:
        report = json.loads(text) if text.strip() else None
    except ValueError:
        report = None
    return judge(report, completed.stderr)


def main(argv: list[str]) -> int:
    verdict = audit(argv[1] if len(argv) > 1 else "requirements.txt")
    print(verdict.message)
    return verdict.exit_code


if __name__ == "__main__":
    sys.exit(main(sys.argv))
