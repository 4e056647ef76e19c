"""Alternate backends of a rule through the API: listed with their health,
created, changed and deleted, each change a revision."""

import pytest

from apps.packages.models import Backend, PrimaryHealth, Revision, Rule

pytestmark = pytest.mark.django_db


def app_rule(acme) -> Rule:
    return Rule.objects.get(domain__organisation=acme, package__key="app-image")


def create(api, rule: Rule, **fields):
    body = {"rule": rule.id, "config": {"registry": "registry-1.docker.io"}, **fields}
    return api.post("/api/v1/backends/", body, format="json")


def test_creating_a_backend_answers_it_with_its_health(api, acme):
    rule = app_rule(acme)

    response = create(api, rule, weight=10)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["rule"], body["position"], body["weight"]) == (rule.id, 0, 10)
    assert body["config"] == {"registry": "registry-1.docker.io"}
    assert (body["healthy"], body["last_probe"], body["last_error"]) == (True, None, "")
    revision = Revision.objects.filter(organisation=acme).first()
    assert (revision.object_type, revision.object_id) == ("backend", body["id"])


def test_a_rule_that_is_not_the_organisations_is_a_404_naming_the_field(api, acme):
    response = api.post(
        "/api/v1/backends/", {"rule": 999999, "config": {"registry": "quay.io"}}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["errors"] == [
        {"field": "rule", "message": "no rule 999999 in this organisation"}
    ]


def test_a_backend_field_the_type_does_not_have_is_refused(api, acme):
    response = create(api, app_rule(acme), config={"outgoing-url": "https://x.example/"})

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "config.outgoing-url"


def test_an_alternate_that_could_never_answer_is_refused_naming_its_field(api, acme):
    rule = Rule.objects.get(domain__organisation=acme, package__key="cli")

    response = create(api, rule, config={"outgoing-url": "https://mirror.example/{vers}/{file}"})

    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "config.outgoing-url"
    assert "{vers}" in error["message"]
    assert not Backend.objects.exists()


def test_weights_above_100_are_refused(api, acme):
    assert create(api, app_rule(acme), weight=101).status_code == 400
    assert not Backend.objects.exists()


def test_backends_are_listed_by_rule(api, acme):
    rule = app_rule(acme)
    create(api, rule)
    cli = Rule.objects.get(domain__organisation=acme, package__key="cli")
    api.post(
        "/api/v1/backends/",
        {"rule": cli.id, "config": {"outgoing-url": "https://m.example/{version}/{file}"}},
        format="json",
    )

    listed = api.get("/api/v1/backends/", {"rule": rule.id}).json()["results"]

    assert [item["rule"] for item in listed] == [rule.id]
    assert api.get("/api/v1/backends/", {"package": "cli"}).json()["results"][0]["rule"] == cli.id


def test_a_patch_shifts_the_canary_weight(api, acme):
    backend = create(api, app_rule(acme)).json()

    response = api.patch(f"/api/v1/backends/{backend['id']}/", {"weight": 25}, format="json")

    assert response.status_code == 200
    assert Backend.objects.get(id=backend["id"]).weight == 25


def test_a_backend_cannot_move_to_another_rule(api, acme):
    backend = create(api, app_rule(acme)).json()
    cli = Rule.objects.get(domain__organisation=acme, package__key="cli")

    response = api.patch(f"/api/v1/backends/{backend['id']}/", {"rule": cli.id}, format="json")

    assert response.status_code == 400


def test_deleting_a_backend_removes_it(api, acme):
    backend = create(api, app_rule(acme)).json()

    assert api.delete(f"/api/v1/backends/{backend['id']}/").status_code == 204
    assert not Backend.objects.exists()


def test_the_rules_backends_show_the_primary_and_the_alternates_with_health(api, acme):
    rule = app_rule(acme)
    create(api, rule)
    PrimaryHealth.objects.create(rule=rule, healthy=False, last_error="GET /v2/ answered 503")

    body = api.get(f"/api/v1/rules/{rule.id}/backends/").json()

    assert body["primary"]["config"] == {"registry": "ghcr.io"}
    assert (body["primary"]["healthy"], body["primary"]["last_error"]) == (
        False,
        "GET /v2/ answered 503",
    )
    assert [b["config"] for b in body["backends"]] == [{"registry": "registry-1.docker.io"}]


def test_members_read_backends_but_do_not_change_them(read_api, acme):
    rule = app_rule(acme)

    assert read_api.get("/api/v1/backends/").status_code == 200
    assert read_api.get(f"/api/v1/rules/{rule.id}/backends/").status_code == 200
    assert create(read_api, rule).status_code == 403


@pytest.mark.parametrize("value", ["abc", "²", "١٢", "1" * 19])
def test_an_id_filter_that_is_not_a_number_is_a_400_naming_it(api, value):
    response = api.get("/api/v1/backends/", {"rule": value})

    assert response.status_code == 400
    assert {"field": "rule", "message": "must be a number"} in response.json()["errors"]
