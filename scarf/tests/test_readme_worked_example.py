"""The README's worked example runs as written against a started server.

The commands are taken from the README itself (the first `sh` block under
"A worked example"), run by bash in a directory of their own beside a
server started the way `make run` starts it (embedded mode, on a port that is
not 8000, given as PORT), after the sign-up the README asks for. Every
`# ...` line the README shows as output must appear in what they print.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from scarf.testing import BASE_DIR

pytestmark = pytest.mark.slow

SIGN_UP = (
    "from apps.accounts.models import User; "
    "User.objects.create_user('you@example.com', 'correct horse battery')"
)


def worked_example() -> str:
    readme = (BASE_DIR / "README.md").read_text()
    section = readme.split("\n## A worked example\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.DOTALL)[1]


def test_the_worked_examples_commands_work_as_written(embedded_server, tmp_path):
    embedded_server.start()
    assert embedded_server.manage("shell", "-c", SIGN_UP).returncode == 0
    work = tmp_path / "work"
    work.mkdir()
    for name in (".venv", "manage.py"):
        (work / name).symlink_to(BASE_DIR / name)
    script = worked_example()

    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=work,
        env={**embedded_server.env, "PORT": str(embedded_server.port)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    shown = [line[2:] for line in script.splitlines() if line.startswith("# ")]
    assert shown
    for line in shown:
        assert line in result.stdout, (line, result.stdout)
    assert '"repository-name": "example/app"' in result.stdout  # the export
