from django.urls import reverse

from apps.packages import services
from apps.packages.models import Revision


def test_one_click_puts_the_backend_back(signed_in, acme):
    rule = acme.packages.get(key="cli").rules.get()
    before = rule.config["outgoing-url"]
    services.update_rule(rule, services.SYSTEM, {"outgoing-url": "https://new.example/{file}"})
    revision = Revision.objects.filter(object_type="rule", object_id=rule.id).first()

    response = signed_in("admin").post(reverse("rollback", args=[revision.id]))

    rule.refresh_from_db()
    assert response.status_code == 302
    assert rule.config["outgoing-url"] == before
    assert Revision.objects.filter(reverts=revision).exists()


def test_a_refused_rollback_says_why(signed_in, acme):
    domain = services.claim_domain(acme, services.SYSTEM, "dl.acme.test")
    services.delete_domain(domain, services.SYSTEM)
    deletion = Revision.objects.get(object_type="domain", action="delete")
    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")

    response = signed_in("admin").post(reverse("rollback", args=[deletion.id]), follow=True)

    assert "Could not roll back" in response.content.decode()


def test_it_returns_only_to_a_page_of_this_site(signed_in, acme):
    revision = services.claim_domain(acme, services.SYSTEM, "dl.acme.test") and acme.revisions.get()

    response = signed_in("admin").post(
        reverse("rollback", args=[revision.id]), {"next": "https://evil.example/"}
    )

    assert response["Location"] == reverse("audit-log")
