import pytest
from django.urls import reverse

from apps.packages.models import Package, Revision, Rule


@pytest.fixture
def cli(acme):
    return acme.packages.get(key="cli")


def test_deleting_asks_first_and_says_what_goes_with_it(signed_in, cli):
    page = signed_in("admin").get(reverse("package-delete", args=[cli.id])).content.decode()

    assert f"Delete the package {cli.name}?" in page
    assert "Its rule goes with it: downloads through it stop at once." in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert Package.objects.filter(id=cli.id).exists()


def test_confirming_deletes_the_package_its_rules_and_records_a_revision(signed_in, acme, cli):
    rule_ids = list(cli.rules.values_list("id", flat=True))

    response = signed_in("admin").post(reverse("package-delete", args=[cli.id]), follow=True)

    assert response.redirect_chain[-1][0] == reverse("home")
    assert f"Deleted {cli.name}" in response.content.decode()
    assert not acme.packages.filter(id=cli.id).exists()
    assert not Rule.objects.filter(id__in=rule_ids).exists()
    assert Revision.objects.get(object_type="package", object_id=cli.id).action == "delete"


def test_a_deleted_package_comes_back_with_a_rollback(signed_in, acme, cli):
    client = signed_in("admin")
    client.post(reverse("package-delete", args=[cli.id]))
    deletion = Revision.objects.get(object_type="package", object_id=cli.id)

    client.post(reverse("rollback", args=[deletion.id]))

    assert acme.packages.get(id=cli.id).rules.count() == 1


def test_admins_get_a_delete_button_on_the_package_page(signed_in, cli):
    page = signed_in("admin").get(reverse("package", args=[cli.id])).content.decode()

    assert reverse("package-delete", args=[cli.id]) in page
