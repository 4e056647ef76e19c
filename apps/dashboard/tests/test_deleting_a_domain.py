import pytest
from django.urls import reverse

from apps.packages import services
from apps.packages.models import Domain, Revision


@pytest.fixture
def domain(acme):
    return services.claim_domain(acme, services.SYSTEM, "dl.acme.test")


def test_deleting_asks_first(signed_in, domain):
    page = signed_in("admin").get(reverse("domain-delete", args=[domain.id])).content.decode()

    assert "Delete the domain dl.acme.test?" in page
    assert "anyone may claim it" in page
    assert Domain.objects.filter(id=domain.id).exists()


def test_confirming_releases_the_domain_and_records_a_revision(signed_in, domain):
    response = signed_in("admin").post(reverse("domain-delete", args=[domain.id]), follow=True)

    assert "Deleted dl.acme.test" in response.content.decode()
    assert not Domain.objects.filter(id=domain.id).exists()
    assert Revision.objects.get(object_type="domain", object_id=domain.id, action="delete")


def test_the_default_domain_stays_and_the_page_says_why(signed_in, acme):
    default = acme.domains.get(hostname=Domain.default_hostname(acme))

    response = signed_in("admin").post(reverse("domain-delete", args=[default.id]))

    assert response.status_code == 200
    assert "default domain cannot be removed" in response.content.decode()
    assert Domain.objects.filter(id=default.id).exists()


def test_only_claimed_domains_get_a_delete_button(signed_in, acme, domain):
    page = signed_in("admin").get(reverse("domains")).content.decode()
    default = acme.domains.get(hostname=Domain.default_hostname(acme))

    assert reverse("domain-delete", args=[domain.id]) in page
    assert reverse("domain-delete", args=[default.id]) not in page
