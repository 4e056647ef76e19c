"""A move between two real registries (Debian's docker-registry on loopback):
the check reports exactly the tags the new registry lacks or holds another
manifest for, and the guarded switch refuses until the new registry is fixed."""

from __future__ import annotations

import urllib.request

import pytest

from apps.gateway.tests.clients.test_docker_clients import Registry, build_oci_image, skopeo
from apps.migration_checks.checks import start_check
from apps.migration_checks.inventory import MANIFEST_ACCEPT
from apps.migration_checks.models import MigrationCheck
from apps.packages import services
from apps.packages.models import Revision

from .conftest import add_rule, finished, items

pytestmark = pytest.mark.slow


@pytest.fixture
def registries(tmp_path):
    started = []
    for name in ("old", "new"):
        (tmp_path / name).mkdir()
        started.append(Registry(tmp_path / name))
    yield started
    for registry in started:
        registry.stop()


@pytest.fixture
def image(tmp_path):
    return build_oci_image(tmp_path / "layout", "1.0")


def push(tmp_path, image, registry, name: str, *options: str) -> None:
    """Copy the image into `registry` as `name`; `--format v2s2` stores it as a
    Docker schema 2 manifest, so the same tag gets another digest."""
    destination = f"docker://127.0.0.1:{registry.port}/{name}"
    skopeo(
        tmp_path,
        "copy",
        "--dest-tls-verify=false",
        *options,
        f"oci:{image.layout}:1.0",
        destination,
    )


def digest(registry, image: str, tag: str) -> str:
    """What a pull of image:tag gets, whichever manifest type the registry holds."""
    request = urllib.request.Request(
        f"{registry.url}/v2/{image}/manifests/{tag}",
        headers={"Accept": MANIFEST_ACCEPT},
        method="HEAD",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers["Docker-Content-Digest"]


@pytest.fixture
def moved_badly(tmp_path, registries, image):
    """The old registry has 1.0, 1.1 and 2.0; the new one lacks 1.1, has
    another manifest for 1.0, and a 3.0 of its own."""
    old, new = registries
    for tag in ("1.0", "1.1", "2.0"):
        push(tmp_path, image, old, f"acme/app:{tag}")
    push(tmp_path, image, new, "acme/app:1.0", "--format", "v2s2")
    for tag in ("2.0", "3.0"):
        push(tmp_path, image, new, f"acme/app:{tag}")
    return old, new


def test_the_check_reports_the_missing_tag_and_the_different_digest(
    celery_worker, acme, actor, moved_badly
):
    old, new = moved_badly
    rule = add_rule(
        acme,
        {
            "type": "docker-v1",
            "package-id": "app",
            "repository-name": "acme/app",
            "registry": old.url,
        },
    )

    check = finished(start_check(rule, actor, new={"registry": new.url}))

    assert check.status == MigrationCheck.DIFFERENCES
    assert items(check, "missing") == ["acme/app:1.1"]
    assert check.report["different"] == [
        {
            "item": "acme/app:1.0",
            "old": digest(old, "acme/app", "1.0"),
            "new": digest(new, "acme/app", "1.0"),
        }
    ]
    assert items(check, "extra") == ["acme/app:3.0"]
    assert check.report["compared"] == 3
    assert digest(old, "acme/app", "1.0") != digest(new, "acme/app", "1.0")


def test_the_guarded_switch_refuses_until_the_new_registry_serves_the_same_images(
    celery_worker, tmp_path, acme, actor, moved_badly, image
):
    old, new = moved_badly
    rule = add_rule(
        acme,
        {
            "type": "docker-v1",
            "package-id": "app",
            "repository-name": "acme/app",
            "registry": old.url,
        },
    )
    move = {"registry": new.url}

    with pytest.raises(services.Rejected) as unchecked:
        services.switch_backend(rule, actor, move)
    assert unchecked.value.errors[0][0] == "migration_check"
    assert "no migration check" in unchecked.value.errors[0][1]

    finished(start_check(rule, actor, new=move))
    with pytest.raises(services.Rejected) as unclean:
        services.switch_backend(rule, actor, move)
    assert unclean.value.errors[0][0] == "migration_check"
    assert "1 missing and 1 different" in unclean.value.errors[0][1]

    for tag in ("1.0", "1.1"):
        push(tmp_path, image, new, f"acme/app:{tag}")
    fixed = finished(start_check(rule, actor, new=move))
    assert fixed.status == MigrationCheck.CLEAN
    assert (fixed.report["missing"], fixed.report["different"]) == ([], [])

    services.switch_backend(rule, actor, move)
    rule.refresh_from_db()
    assert rule.config["registry"] == new.url

    services.rollback(Revision.objects.filter(object_type="rule").first(), actor)
    rule.refresh_from_db()
    assert rule.config["registry"] == old.url


def test_an_image_pattern_compares_the_repositories_the_old_catalog_has_under_it(
    celery_worker, tmp_path, acme, actor, registries, image
):
    old, new = registries
    for name in ("acme/app:1.0", "acme/tool:2.0", "other/thing:1.0"):
        push(tmp_path, image, old, name)
    push(tmp_path, image, new, "acme/app:1.0")
    rule = add_rule(
        acme, {"type": "docker-v2", "rule-id": "images", "pattern": "acme/*", "registry": old.url}
    )

    check = finished(start_check(rule, actor, new={"registry": new.url}))

    assert check.report["repositories"] == ["acme/app", "acme/tool"]
    assert items(check, "missing") == ["acme/tool:2.0"]
    assert check.report["different"] == []
