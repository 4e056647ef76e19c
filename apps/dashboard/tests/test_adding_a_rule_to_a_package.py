import pytest
from django.urls import reverse

from apps.packages import services
from apps.packages.models import Revision

MIRROR = {
    "domain": "dl.acme.test",
    "incoming_path": "/mirror/cli/{version}/{file}",
    "outgoing_url": "https://mirror.example/cli/{version}/{file}",
}


@pytest.fixture
def cli(acme):
    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")
    return acme.packages.get(key="cli")


def test_it_offers_the_rule_kinds_of_the_packages_kind_only(signed_in, cli):
    page = signed_in("admin").get(reverse("rule-new", args=[cli.id])).content.decode()

    assert f"Add a rule to {cli.name}" in page
    assert "File (regular expression)" in page
    assert "Docker image" not in page


def test_the_form_asks_for_no_package_id(signed_in, cli):
    response = signed_in("admin").get(reverse("rule-new", args=[cli.id]) + "?type=file-v1")

    assert "package_id" not in response.context["form"].fields
    assert response.context["form"]["package_name"].value() == cli.name


def test_it_adds_a_second_rule_to_the_same_package(signed_in, acme, cli):
    url = reverse("rule-new", args=[cli.id]) + "?type=file-v1"

    response = signed_in("admin").post(url, {**MIRROR, "package_name": cli.name})

    assert response["Location"] == reverse("package", args=[cli.id])
    added = cli.rules.get(domain__hostname="dl.acme.test")
    assert added.config["outgoing-url"] == MIRROR["outgoing_url"]
    assert cli.rules.count() == 2
    assert Revision.objects.filter(object_type="rule", object_id=added.id, action="create")


def test_an_unsuitable_kind_shows_the_choice_again(signed_in, cli):
    response = signed_in("admin").get(reverse("rule-new", args=[cli.id]) + "?type=docker-v1")

    assert "form" not in response.context
    assert "File (URL template)" in response.content.decode()


def test_an_invalid_rule_is_explained_next_to_the_field(signed_in, cli):
    url = reverse("rule-new", args=[cli.id]) + "?type=file-v1"

    response = signed_in("admin").post(url, {**MIRROR, "outgoing_url": "ftp://nope"})

    assert response.context["form"].errors["outgoing_url"]
    assert cli.rules.count() == 1


def test_the_package_page_offers_to_add_a_rule(signed_in, cli):
    page = signed_in("admin").get(reverse("package", args=[cli.id])).content.decode()

    assert reverse("rule-new", args=[cli.id]) in page
