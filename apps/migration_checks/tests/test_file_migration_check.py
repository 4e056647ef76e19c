"""A file rule's move between two real static servers: the maintainer names
the paths, the check compares the files the rule redirects them to."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from apps.migration_checks.checks import run_check, start_check
from apps.migration_checks.models import MigrationCheck
from apps.packages import services

from .conftest import add_rule

pytestmark = pytest.mark.slow

PATHS = ["/cli/1.0/cli.tgz", "/cli/1.1/cli.tgz"]


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def servers(tmp_path):
    """Old serves 1.0 and 1.1; new serves a 1.0 of another size and no 1.1."""
    files = {"old": {"1.0": b"cli one", "1.1": b"cli one.one"}, "new": {"1.0": b"cli one!"}}
    started = []
    for name, versions in files.items():
        for version, data in versions.items():
            (tmp_path / name / version).mkdir(parents=True)
            (tmp_path / name / version / "cli.tgz").write_bytes(data)
        handler = functools.partial(Quiet, directory=str(tmp_path / name))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        started.append(server)
    yield [f"http://127.0.0.1:{server.server_port}" for server in started]
    for server in started:
        server.shutdown()
        server.server_close()


def file_rule(acme, base: str):
    return add_rule(
        acme,
        {
            "type": "file-v1",
            "package-id": "cli",
            "incoming-path": "/cli/{version}/{file}",
            "outgoing-url": base + "/{version}/{file}",
        },
    )


def test_the_named_paths_are_compared_by_size(acme, actor, servers):
    old, new = servers
    rule = file_rule(acme, old)

    check = run_check(
        start_check(
            rule, actor, new={"outgoing-url": new + "/{version}/{file}"}, scope={"paths": PATHS}
        ).id
    )

    assert check.status == MigrationCheck.DIFFERENCES
    assert check.report["missing"] == [{"item": "/cli/1.1/cli.tgz", "old": "11 bytes"}]
    assert check.report["different"] == [
        {"item": "/cli/1.0/cli.tgz", "old": "7 bytes", "new": "8 bytes"}
    ]


def test_a_check_needs_paths_the_rule_redirects(acme, actor, servers):
    old, new = servers
    rule = file_rule(acme, old)
    move = {"outgoing-url": new + "/{version}/{file}"}

    with pytest.raises(services.Rejected) as no_paths:
        start_check(rule, actor, new=move)
    with pytest.raises(services.Rejected) as foreign:
        start_check(rule, actor, new=move, scope={"paths": ["/elsewhere"]})

    assert no_paths.value.errors[0][0] == "paths"
    assert foreign.value.errors == [
        ("paths", "/elsewhere is not redirected to a backend by this rule")
    ]
