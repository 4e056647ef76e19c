"""The migration checks page: start a check, read its report, switch when clean."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.accounts.models import Membership
from apps.migration_checks.checks import run_check
from apps.migration_checks.models import MigrationCheck
from apps.migration_checks.tests.test_file_migration_check import PATHS, servers  # noqa: F401
from apps.packages import services
from apps.packages.models import Rule

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_rule(acme, servers):  # noqa: F811 - the fixture imported above
    form = {
        "type": "file-v1",
        "domain": "get.acme.test",
        "package-id": "moving-cli",
        "incoming-path": "/cli/{version}/{file}",
        "outgoing-url": servers[0] + "/{version}/{file}",
    }
    return services.create_rule(acme, services.SYSTEM, form)


def start(client, rule: Rule, backend: str):
    form = {
        "rule": rule.id,
        "backend": backend,
        "items": "\n".join(PATHS),
        "file_comparison": "size",
    }
    return client.post(reverse("migration-checks"), form)


def test_an_admin_starts_a_check_and_reads_its_report(signed_in, cli_rule, servers):  # noqa: F811
    client = signed_in(Membership.ADMIN)

    response = start(client, cli_rule, servers[1] + "/{version}/{file}")
    check = MigrationCheck.objects.get()
    pending = client.get(response["Location"])
    run_check(check.id)
    page = client.get(response["Location"]).content.decode()

    assert response["Location"] == reverse("migration-check", args=[check.id])
    assert 'hx-trigger="every 2s"' in pending.content.decode()
    assert "Missing on the new backend" in page
    assert "/cli/1.1/cli.tgz" in page
    assert "1 missing and 1 different" in page
    assert 'hx-trigger="every 2s"' not in page
    assert "Switch moving-cli" not in page


def test_a_clean_check_offers_the_switch_and_it_moves_the_rule(signed_in, cli_rule, servers):  # noqa: F811
    client = signed_in(Membership.ADMIN)
    same_files = servers[0] + "/./{version}/{file}"
    start(client, cli_rule, same_files)
    check = run_check(MigrationCheck.objects.get().id)

    page = client.get(reverse("migration-check", args=[check.id])).content.decode()
    switched = client.post(reverse("migration-check-switch", args=[check.id]))

    cli_rule.refresh_from_db()
    assert "Switch moving-cli" in page
    assert switched.status_code == 302
    assert cli_rule.config["outgoing-url"] == same_files


def test_members_see_checks_but_cannot_start_one(signed_in, cli_rule, servers):  # noqa: F811
    client = signed_in(Membership.MEMBER)

    assert client.get(reverse("migration-checks")).status_code == 200
    assert start(client, cli_rule, servers[1]).status_code == 403
    assert MigrationCheck.objects.count() == 0


def test_another_organisations_check_is_not_found(signed_in, globex):
    client = signed_in(Membership.OWNER)
    theirs = MigrationCheck.objects.create(
        organisation=globex, old={}, new={}, pair="0" * 64, status=MigrationCheck.CLEAN
    )

    assert client.get(reverse("migration-check", args=[theirs.id])).status_code == 404
    assert client.post(reverse("migration-check-switch", args=[theirs.id])).status_code == 404
    assert f"#{theirs.id}" not in client.get(reverse("migration-checks")).content.decode()
