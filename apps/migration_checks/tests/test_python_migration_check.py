"""A move between two real Python indexes (pypiserver, one directory each):
the check compares the sha256 of every file the project pages list, and of
a python-v1 rule's own file as downloaded."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from apps.gateway.tests.clients.test_pip import PROJECT, PackageIndex, build_wheel
from apps.migration_checks.checks import run_check, start_check
from apps.migration_checks.models import MigrationCheck
from apps.packages import services

from .conftest import add_rule

pytestmark = pytest.mark.slow

SDIST = "acme-hello-1.0.tar.gz"


@pytest.fixture
def indexes(tmp_path):
    """Old: the wheel and the sdist. New: another build of the wheel under
    the same name, no sdist, and a 2.0 sdist of its own."""
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    old_dir.mkdir()
    new_dir.mkdir()
    wheel = build_wheel(old_dir)
    (old_dir / SDIST).write_bytes(b"the 1.0 sources")
    shutil.copy(wheel, new_dir / wheel.name)
    with (new_dir / wheel.name).open("ab") as rebuilt:
        rebuilt.write(b"\0")
    (new_dir / "acme-hello-2.0.tar.gz").write_bytes(b"the 2.0 sources")
    started = [PackageIndex.start(d, tmp_path / f"{d.name}.log") for d in (old_dir, new_dir)]
    yield (*started, wheel)
    for index in started:
        index.stop()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_an_index_move_reports_the_missing_and_the_rebuilt_files(acme, actor, indexes):
    old, new, wheel = indexes
    rule = add_rule(
        acme,
        {
            "type": "python-index-v1",
            "package-id": PROJECT,
            "package-name": PROJECT,
            "backend-simple-index-url": f"{old.url}/simple/",
        },
    )

    check = run_check(
        start_check(rule, actor, new={"backend-simple-index-url": f"{new.url}/simple/"}).id
    )

    assert check.status == MigrationCheck.DIFFERENCES
    assert check.report["missing"] == [{"item": SDIST, "old": sha256(b"the 1.0 sources")}]
    assert check.report["different"] == [
        {
            "item": wheel.name,
            "old": sha256(wheel.read_bytes()),
            "new": sha256(wheel.read_bytes() + b"\0"),
        }
    ]
    assert [entry["item"] for entry in check.report["extra"]] == ["acme-hello-2.0.tar.gz"]
    with pytest.raises(services.Rejected):
        services.switch_backend(rule, actor, {"backend-simple-index-url": f"{new.url}/simple/"})


def test_a_file_rule_move_compares_the_downloaded_file(acme, actor, indexes):
    old, new, wheel = indexes
    rule = add_rule(
        acme,
        {
            "type": "python-v1",
            "package-id": PROJECT,
            "package-name": PROJECT,
            "file-name": wheel.name,
            "version": "1.0",
            "backend-url": old.file_url(wheel.name),
        },
    )
    same = run_check(
        start_check(rule, actor, new={"backend-url": old.file_url(wheel.name) + "?copy"}).id
    )
    rebuilt = run_check(start_check(rule, actor, new={"backend-url": new.file_url(wheel.name)}).id)

    assert same.status == MigrationCheck.CLEAN
    assert [entry["item"] for entry in rebuilt.report["different"]] == [wheel.name]
