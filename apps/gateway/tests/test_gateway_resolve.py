import json

import pytest
from django.core.management import CommandError, call_command


def resolve(capsys, *args):
    call_command("gateway_resolve", *args)
    return json.loads(capsys.readouterr().out)


def test_it_shows_the_redirect_the_rule_and_the_capture(imported, capsys):
    report = resolve(capsys, "--host", "GET.acme.test", "GET", "/cli/2.0/cli.zip?channel=beta")

    assert report["status"] == 307
    assert report["location"] == (
        "https://github.com/acme/cli/releases/download/v2.0/cli.zip?channel=beta"
    )
    assert report["rule"]["type"] == "file-v1"
    assert report["captures"][0]["variables"] == {"version": "2.0", "file": "cli.zip"}


def test_it_passes_headers_to_the_rules(imported, capsys):
    redirected = resolve(
        capsys,
        "--host",
        "get.acme.test",
        "GET",
        "/v2/acme/app/manifests/1",
        "-H",
        "User-Agent: docker/27",
    )
    proxied = resolve(capsys, "--host", "get.acme.test", "GET", "/v2/acme/app/manifests/1")

    assert redirected["location"] == "https://ghcr.io/v2/acme/app/manifests/1"
    assert proxied["status"] == "proxied"
    assert proxied["upstream"] == "ghcr.io"


def test_it_shows_a_404_body(imported, capsys):
    report = resolve(capsys, "--host", "get.acme.test", "GET", "/v2/nope/manifests/1")

    assert report["status"] == 404
    assert "NAME_UNKNOWN" in report["body"]


@pytest.mark.django_db
def test_it_refuses_an_unknown_host(capsys):
    with pytest.raises(CommandError, match="not a verified domain"):
        call_command("gateway_resolve", "--host", "nobody.test", "GET", "/")


def test_it_refuses_a_malformed_header(imported):
    with pytest.raises(CommandError, match="Name: value"):
        call_command("gateway_resolve", "--host", "get.acme.test", "GET", "/", "-H", "oops")
