import pytest
from django.urls import reverse

from apps.packages.models import Package, Revision, Rule


@pytest.fixture
def rule(acme):
    return acme.packages.get(key="cli").rules.get()


def test_deleting_asks_first(signed_in, rule):
    page = signed_in("admin").get(reverse("rule-delete", args=[rule.id])).content.decode()

    assert f"Delete the File (URL template) rule of {rule.package.name} on get.acme.test?" in page
    assert Rule.objects.filter(id=rule.id).exists()


def test_confirming_deletes_the_rule_keeps_the_package_and_records_a_revision(signed_in, rule):
    package = rule.package

    response = signed_in("admin").post(reverse("rule-delete", args=[rule.id]))

    assert response["Location"] == reverse("package", args=[package.id])
    assert not Rule.objects.filter(id=rule.id).exists()
    assert Package.objects.filter(id=package.id).exists()
    assert Revision.objects.get(object_type="rule", object_id=rule.id).action == "delete"


def test_a_package_without_rules_offers_to_add_one(signed_in, rule):
    client = signed_in("admin")
    client.post(reverse("rule-delete", args=[rule.id]))

    page = client.get(reverse("package", args=[rule.package_id])).content.decode()

    assert "This package has no rules" in page
    assert reverse("rule-new", args=[rule.package_id]) in page


def test_each_rule_has_a_delete_button_for_admins(signed_in, rule):
    page = signed_in("admin").get(reverse("package", args=[rule.package_id])).content.decode()

    assert reverse("rule-delete", args=[rule.id]) in page
