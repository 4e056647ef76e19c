"""The analytics page's package box: a search with suggestions, not a list of every package."""

from django.urls import reverse

from apps.packages.models import Package


def add_packages(organisation, count: int) -> None:
    Package.objects.bulk_create(
        Package(organisation=organisation, key=f"tool-{n:04}", name=f"Tool {n:04}", kind="file")
        for n in range(count)
    )


def test_the_page_suggests_a_few_packages_however_many_there_are(signed_in, acme):
    add_packages(acme, 300)

    page = signed_in("member").get(reverse("analytics")).content.decode()
    suggestions = page.split('<datalist id="package-suggestions">')[1].split("</datalist>")[0]

    assert suggestions.count("<option") == 20
    assert 'list="package-suggestions"' in page
    assert "tool-0299" not in page


def test_suggestions_match_the_typed_id_or_name_of_this_organisation_only(signed_in, acme, globex):
    add_packages(acme, 30)
    Package.objects.filter(key="tool-0007").update(name="Hammer")
    client = signed_in("member")

    by_name = client.get(reverse("analytics-packages"), {"package": "hamm"}).content.decode()
    by_id = client.get(reverse("analytics-packages"), {"package": "TOOL-001"}).content.decode()
    other_tenant = client.get(reverse("analytics-packages"), {"package": "globex"}).content

    assert by_name.strip() == '<option value="tool-0007">Hammer</option>'
    assert by_id.count("<option") == 10
    assert other_tenant.strip() == b""


def test_an_unknown_package_id_is_an_error_naming_the_field(signed_in, acme):
    response = signed_in("member").get(reverse("analytics"), {"package": "nope"})

    assert response.context["form"].errors["package"] == ["No package has the id “nope”."]
    assert "report" not in response.context


def test_a_known_package_id_narrows_the_page_to_it(signed_in, acme):
    response = signed_in("member").get(reverse("analytics"), {"package": "cli"})

    assert response.context["package"].key == "cli"
