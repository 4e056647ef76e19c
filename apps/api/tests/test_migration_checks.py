"""Migration checks through the API: start one, read its report, switch once
it is clean, roll the switch back."""

from __future__ import annotations

import pytest

from apps.migration_checks.checks import run_check
from apps.migration_checks.tests.test_file_migration_check import PATHS, servers  # noqa: F401
from apps.packages import services
from apps.packages.models import Rule

from .conftest import api_client, issue_token

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_rule(acme, ada, servers):  # noqa: F811 - the fixture imported above
    old, _new = servers
    form = {
        "type": "file-v1",
        "domain": "get.acme.test",
        "package-id": "moving-cli",
        "incoming-path": "/cli/{version}/{file}",
        "outgoing-url": old + "/{version}/{file}",
    }
    return services.create_rule(acme, services.Actor(ada), form)


def start(api, rule: Rule, base: str, **extra):
    body = {"rule": rule.id, "new": {"outgoing-url": base + "/{version}/{file}"}, **extra}
    return api.post("/api/v1/migration-checks/", body, format="json")


def test_a_check_is_started_and_its_report_read(api, cli_rule, servers):  # noqa: F811
    _old, new = servers

    started = start(api, cli_rule, new, paths=PATHS)
    run_check(started.json()["id"])
    report = api.get(f"/api/v1/migration-checks/{started.json()['id']}/").json()

    assert started.status_code == 201
    assert started.json()["status"] == "pending"
    assert report["status"] == "differences"
    assert report["new_backend"] == new + "/{version}/{file}"
    assert [entry["item"] for entry in report["report"]["missing"]] == ["/cli/1.1/cli.tgz"]
    assert [entry["item"] for entry in report["report"]["different"]] == ["/cli/1.0/cli.tgz"]


def test_the_switch_is_refused_with_the_reason_until_a_check_is_clean(
    api,
    cli_rule,
    servers,  # noqa: F811
):
    old, new = servers
    check = start(api, cli_rule, new, paths=PATHS).json()
    run_check(check["id"])

    refused = api.post(f"/api/v1/migration-checks/{check['id']}/switch/", {}, format="json")

    assert refused.status_code == 400
    [error] = refused.json()["errors"]
    assert error["field"] == "migration_check"
    assert "1 missing and 1 different" in error["message"]
    cli_rule.refresh_from_db()
    assert cli_rule.config["outgoing-url"] == old + "/{version}/{file}"


def test_a_clean_check_switches_and_one_rollback_undoes_it(api, cli_rule, servers):  # noqa: F811
    old, _new = servers
    same_files = old + "/./{version}/{file}"
    check = start(api, cli_rule, old + "/.", paths=PATHS).json()
    run_check(check["id"])

    switched = api.post(f"/api/v1/migration-checks/{check['id']}/switch/", {}, format="json")
    cli_rule.refresh_from_db()
    moved = cli_rule.config["outgoing-url"]
    rolled_back = api.post(f"/api/v1/revisions/{switched.json()['id']}/rollback/")
    cli_rule.refresh_from_db()

    assert switched.status_code == 201
    assert moved == same_files
    assert rolled_back.status_code == 201
    assert cli_rule.config["outgoing-url"] == old + "/{version}/{file}"


def test_a_canary_share_needs_a_clean_check_of_the_alternate(api, acme, ada, cli_rule, servers):  # noqa: F811
    _old, new = servers
    backend = services.add_backend(
        cli_rule, services.Actor(ada), {"outgoing-url": new + "/{version}/{file}"}
    )
    check = api.post(
        "/api/v1/migration-checks/",
        {"rule": cli_rule.id, "backend": backend.id, "paths": PATHS},
        format="json",
    ).json()
    run_check(check["id"])

    canary = api.post(
        f"/api/v1/migration-checks/{check['id']}/switch/", {"weight": 10}, format="json"
    )
    backend.refresh_from_db()

    assert check["backend"] == backend.id
    assert canary.status_code == 400
    assert canary.json()["errors"][0]["field"] == "migration_check"
    assert backend.weight is None


def test_members_read_checks_but_cannot_start_one(acme, ada, cli_rule, servers):  # noqa: F811
    reader = api_client(issue_token(acme, ada, scope="read"))

    assert reader.get("/api/v1/migration-checks/").status_code == 200
    assert start(reader, cli_rule, servers[1], paths=PATHS).status_code == 403


def test_only_backend_fields_can_differ(api, cli_rule):
    response = api.post(
        "/api/v1/migration-checks/",
        {"rule": cli_rule.id, "new": {"incoming-path": "/other/{file}"}},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "new.incoming-path"
