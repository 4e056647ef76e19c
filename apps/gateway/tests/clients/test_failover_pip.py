"""pip keeps installing when the index a package is served from goes away:
a python-index-v1 rule with a second pypiserver index as its alternate."""

from __future__ import annotations

import pytest

from apps.gateway.tests.clients.test_pip import (
    PROJECT,
    WHEEL,
    PackageIndex,
    build_wheel,
    downloads,
    index_rules,
    pip_download,
    recorded_events,
    sha256_of,
)
from apps.packages import services
from apps.packages.manifests import import_manifest
from apps.packages.models import PrimaryHealth, Rule
from apps.packages.tasks import check_backend_health

pytestmark = pytest.mark.slow


@pytest.fixture
def wheel(tmp_path):
    directory = tmp_path / "packages"
    directory.mkdir()
    return build_wheel(directory)


@pytest.fixture
def indexes(tmp_path, wheel):
    primary = PackageIndex.start(wheel.parent, tmp_path / "primary.log")
    secondary = PackageIndex.start(wheel.parent, tmp_path / "secondary.log")
    yield primary, secondary
    primary.stop()
    secondary.stop()


def test_pip_downloads_from_the_alternate_index_once_the_primary_is_down(
    gateway_server, acme, indexes, wheel, tmp_path, settings, redis_db
):
    settings.BACKEND_UNHEALTHY_AFTER = 2
    settings.BACKEND_PROBE_TIMEOUT = 1.0
    primary, secondary = indexes
    import_manifest(acme, index_rules(primary), verify_domains=True)
    rule = Rule.objects.get(package__key=PROJECT)
    backend = services.add_backend(
        rule, services.SYSTEM, {"backend-simple-index-url": f"{secondary.url}/simple/"}
    )
    server = gateway_server.start()

    primary.stop()
    for _ in range(2):
        check_backend_health()
    assert not PrimaryHealth.objects.get(rule=rule).healthy

    result = pip_download(server, tmp_path / "downloaded")

    assert result.returncode == 0, result.stderr
    assert sha256_of(tmp_path / "downloaded" / WHEEL) == sha256_of(wheel)
    (download,) = downloads(recorded_events(redis_db))
    assert download["target"] == secondary.file_url(WHEEL)
    assert download["capture"]["backend_id"] == backend.id
