"""Each dashboard page makes as many queries with 40 packages (and their
domains, rules, revisions and downloads) as with the handful Acme starts
with: nothing is asked once per package, domain, rule or change."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.packages import services
from apps.packages.manifests import import_manifest
from apps.packages.models import Package

from .conftest import count_downloads

MORE = 40
PAGES = [
    "home",
    "package",
    "analytics",
    "domains",
    "audit-log",
    "members",
    "tokens",
    "settings",
    "webhooks",
    "migration-checks",
    "public-package",
    "public-badge",
]


def path_of(name: str, cli: Package) -> str:
    if name == "package":
        return reverse(name, args=[cli.id])
    if name.startswith("public-"):
        return reverse(name, args=["acme", "cli"])
    return reverse(name)


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200, path
    return len(captured)


def grow(organisation) -> None:
    """MORE packages, each with a rule on a domain of its own and downloads;
    cli gets a rule on each of those domains too; all of it recorded."""
    today = datetime.now(UTC).date()
    rules = []
    for n in range(MORE):
        host = f"dl{n}.acme.test"
        for key in (f"pkg-{n}", "cli"):
            rules.append(
                {
                    "type": "file-v1",
                    "domain": host,
                    "package-id": key,
                    "incoming-path": f"/{key}/{{file}}",
                    "outgoing-url": f"https://files.example/{key}/{{file}}",
                }
            )
    import_manifest(organisation, {"rules": rules}, verify_domains=True)
    for n, package in enumerate(organisation.packages.all()):
        count_downloads(organisation, package.key, today - timedelta(days=n % 30 + 2), n + 1)
        services.update_package(package, services.SYSTEM, name=f"{package.name} renamed")


@pytest.mark.parametrize("name", PAGES)
def test_a_pages_queries_do_not_grow_with_packages(signed_in, acme, name):
    client = signed_in("owner")
    cli = Package.objects.get(organisation=acme, key="cli")
    # Something of each to show already: an empty list or chart asks less.
    services.update_package(cli, services.SYSTEM, public_stats=True)
    count_downloads(acme, "cli", datetime.now(UTC).date() - timedelta(days=40), 5)
    count_downloads(acme, "cli", datetime.now(UTC).date() - timedelta(days=1), 5)
    path = path_of(name, cli)
    queries(client, path)  # the first answer fills per-process caches
    few = queries(client, path)

    grow(acme)

    assert acme.packages.count() > MORE
    assert queries(client, path) == few
