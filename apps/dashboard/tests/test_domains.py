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


def test_https_only_is_turned_on_and_off_per_domain(signed_in, acme):
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test", verified=True)
    admin = signed_in("admin")

    page = admin.post(
        reverse("domain-https-only", args=[domain.id]), {"https_only": "on"}, follow=True
    )
    domain.refresh_from_db()
    assert domain.https_only
    assert "dl.acme.test now redirects plain HTTP to HTTPS." in page.content.decode()

    admin.post(reverse("domain-https-only", args=[domain.id]), {"https_only": "off"})
    domain.refresh_from_db()
    assert not domain.https_only


def test_members_cannot_change_https_only(signed_in, acme):
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test", verified=True)

    response = signed_in("member").post(
        reverse("domain-https-only", args=[domain.id]), {"https_only": "on"}
    )

    assert response.status_code == 403
    domain.refresh_from_db()
    assert not domain.https_only
