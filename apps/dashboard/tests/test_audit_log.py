from django.urls import reverse

from apps.packages import services


def test_it_lists_every_revision_with_who_made_it(signed_in, acme):
    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")

    page = signed_in("member").get(reverse("audit-log")).content.decode()

    assert "create domain" in page
    assert "system" in page


def test_a_member_sees_no_rollback_button(signed_in, acme):
    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")

    page = signed_in("member").get(reverse("audit-log")).content.decode()

    assert "Roll back" not in page
