import pytest
from django.urls import reverse

from .conftest import edit_form


@pytest.mark.parametrize(
    ("key", "command"),
    [
        ("app-image", "docker pull get.acme.test/acme/app"),
        ("acme-tool", "pip install --index-url https://get.acme.test/simple/ acme-tool"),
        ("cli", "curl -LO https://get.acme.test/cli/1.2.0/example-1.2.0.tar.gz"),
    ],
)
def test_it_shows_the_command_users_run(signed_in, acme, key, command):
    package = acme.packages.get(key=key)

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    assert command in page
    assert "https://get.acme.test/cli/{version}" not in page


@pytest.mark.parametrize(
    ("key", "command"),
    [
        ("app-image", "docker pull get.acme.test:8443/acme/app"),
        ("cli", "curl -LO https://get.acme.test:8443/cli/1.2.0/example-1.2.0.tar.gz"),
    ],
)
def test_the_command_has_the_edges_port_when_it_is_not_443(signed_in, acme, settings, key, command):
    settings.PUBLIC_HTTPS_PORT = 8443
    package = acme.packages.get(key=key)

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    assert command in page


def test_trying_a_request_starts_with_one_the_package_answers(signed_in, acme):
    package = acme.packages.get(key="cli")
    member = signed_in("member")

    form = member.get(reverse("package", args=[package.id])).context["try_form"]
    report = member.get(reverse("try-request"), form.initial).context["report"]

    assert form.initial["domain"] == "get.acme.test"
    assert form.initial["path"] == "/cli/1.2.0/example-1.2.0.tar.gz"
    assert report["status"] == 307
    assert [c["package"] for c in report["captures"]] == ["cli"]


def test_it_shows_the_npm_command(signed_in, acme):
    from apps.packages import services

    rule = {"type": "npm-v1", "domain": "get.acme.test", "package-id": "js", "package-name": "lib"}
    rule["registry"] = "https://registry.example.test/"
    package = services.create_rule(acme, services.SYSTEM, rule).package

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    assert "npm install --registry https://get.acme.test/ lib" in page


def test_it_shows_the_packages_history(signed_in, acme):
    package = acme.packages.get(key="cli")
    rule = package.rules.get()
    form = edit_form(rule, outgoing_url="https://new.example/{file}", confirm="1")
    signed_in("admin").post(reverse("rule-edit", args=[rule.id]), form)

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    assert "update rule" in page


def test_a_regex_rule_shows_a_concrete_path_not_the_regex(signed_in, acme):
    from apps.packages import services

    rule = {
        "type": "file-v2",
        "domain": "get.acme.test",
        "package-id": "nightly",
        "incoming-path": "^/dl/(?P<ver>[0-9.]+)/(?<file>[^/]+)$",
        "outgoing-url": "https://dl.example.test/{ver}/{file}",
    }
    package = services.create_rule(acme, services.SYSTEM, rule).package

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    assert "curl -LO https://get.acme.test/dl/1.2.0/example-1.2.0.tar.gz" in page
    assert "(?P&lt;ver&gt;" not in page.split("Your users run")[1].split("</pre>")[0]
