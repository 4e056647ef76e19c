"""The resolve endpoint answers what the gateway would, like gateway_resolve."""

import json

from django.core.management import call_command

from apps.packages.models import Domain

DOWNLOAD = {"host": "get.acme.test", "method": "GET", "path": "/cli/2.0/cli.zip?channel=beta"}


def test_it_answers_the_redirect_the_rule_and_the_capture(read_api, acme):
    decision = read_api.post("/api/v1/resolve/", DOWNLOAD, format="json").json()

    assert decision["status"] == 307
    assert (
        decision["location"]
        == "https://github.com/acme/cli/releases/download/v2.0/cli.zip?channel=beta"
    )
    assert decision["rule"]["type"] == "file-v1"


def test_it_answers_exactly_what_the_command_prints(read_api, acme, capsys):
    request = {
        "host": "get.acme.test",
        "path": "/v2/acme/app/manifests/1",
        "headers": {"User-Agent": "docker/27"},
    }
    decision = read_api.post("/api/v1/resolve/", request, format="json").json()

    call_command(
        "gateway_resolve",
        "--host",
        "get.acme.test",
        "GET",
        request["path"],
        "-H",
        "User-Agent: docker/27",
    )

    assert decision == json.loads(capsys.readouterr().out)


def test_an_unverified_domain_is_a_400_naming_the_host(api, acme):
    Domain.objects.filter(hostname="get.acme.test").update(verified=False)

    response = api.post("/api/v1/resolve/", DOWNLOAD, format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "host"


def test_a_host_that_is_not_the_organisations_is_a_404_naming_the_host(api, acme):
    response = api.post(
        "/api/v1/resolve/", {**DOWNLOAD, "host": "elsewhere.example"}, format="json"
    )

    assert response.status_code == 404
    assert response.json()["errors"] == [
        {"field": "host", "message": "elsewhere.example is not a domain of this organisation"}
    ]


def test_a_host_is_found_in_any_case_and_with_its_trailing_dot(read_api, acme):
    decision = read_api.post(
        "/api/v1/resolve/", {**DOWNLOAD, "host": "GET.Acme.Test."}, format="json"
    ).json()

    assert decision["status"] == 307


def test_a_path_without_its_leading_slash_is_explained(read_api, acme):
    response = read_api.post("/api/v1/resolve/", {**DOWNLOAD, "path": "cli/1.0"}, format="json")

    assert response.json()["errors"] == [
        {"field": "path", "message": "must start with /, e.g. /cli/1.2.0/cli.tgz"}
    ]
