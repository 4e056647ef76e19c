from django.urls import reverse

from apps.packages.models import Domain


def test_it_claims_a_domain_and_shows_the_exact_txt_record(signed_in, acme):
    response = signed_in("admin").post(
        reverse("domains"), {"hostname": "Get.Example.com"}, follow=True
    )

    domain = Domain.objects.get(hostname="get.example.com", organisation=acme)
    page = response.content.decode()
    assert domain.challenge_name in page
    assert domain.verification_token in page
    assert "not verified" in page


def test_it_explains_a_refused_claim_next_to_the_field(signed_in, globex):
    response = signed_in("admin").post(reverse("domains"), {"hostname": "get.globex.test"})

    assert response.context["form"].errors["hostname"] == ["get.globex.test is already claimed"]


def test_check_now_reports_a_missing_record(signed_in, acme, dns_server):
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test")

    response = signed_in("admin").post(reverse("verify-domain", args=[domain.id]), follow=True)

    assert "No TXT record at _gateway-challenge.dl.acme.test" in response.content.decode()
    assert "checked just now" in response.content.decode()
    assert "0 minutes" not in response.content.decode()


def test_check_now_verifies_a_domain_whose_record_is_published(signed_in, acme, dns_server):
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test")
    dns_server.txt[domain.challenge_name] = [domain.verification_token]

    signed_in("admin").post(reverse("verify-domain", args=[domain.id]))

    domain.refresh_from_db()
    assert domain.verified
