"""Another organisation's objects are not found, whatever the role."""

from django.urls import reverse

from apps.accounts.models import ApiToken, Invitation
from apps.packages import services
from apps.packages.models import Domain, Revision, Rule


def test_another_organisations_objects_are_not_found(signed_in, globex):
    client = signed_in("owner")
    package = globex.packages.get()
    rule = package.rules.get()
    services.claim_domain(globex, services.SYSTEM, "dl.globex.test")
    revision = Revision.objects.filter(organisation=globex).first()
    token, _ = ApiToken.issue(globex, globex.memberships.get().user, name="theirs")

    assert client.get(reverse("package", args=[package.id])).status_code == 404
    assert client.get(reverse("rule-edit", args=[rule.id])).status_code == 404
    assert client.post(reverse("rule-edit", args=[rule.id]), {"confirm": "1"}).status_code == 404
    assert client.post(reverse("rollback", args=[revision.id])).status_code == 404
    assert client.post(reverse("revoke-token", args=[token.id])).status_code == 404
    token.refresh_from_db()
    assert token.usable


def test_another_organisations_objects_cannot_be_deleted_changed_or_looked_at(signed_in, globex):
    client = signed_in("owner")
    package = globex.packages.get()
    rule = package.rules.get()
    domain = services.claim_domain(globex, services.SYSTEM, "dl.globex.test")
    revision = Revision.objects.filter(organisation=globex).first()
    gus = globex.memberships.get()
    invitation, secret = Invitation.issue(globex, gus.user, "dora@example.com", "admin")
    urls = [
        reverse("package-delete", args=[package.id]),
        reverse("rule-delete", args=[rule.id]),
        reverse("domain-delete", args=[domain.id]),
        reverse("member-remove", args=[gus.id]),
        reverse("rule-new", args=[package.id]) + "?type=file-v1",
    ]

    for url in urls:
        assert client.get(url).status_code == 404, url
        assert client.post(url).status_code == 404, url
    assert client.get(reverse("revision", args=[revision.id])).status_code == 404
    assert client.post(reverse("member-role", args=[gus.id]), {"role": "member"}).status_code == 404
    assert client.post(reverse("revoke-invitation", args=[invitation.id])).status_code == 404
    assert Rule.objects.filter(id=rule.id).exists()
    assert Domain.objects.filter(id=domain.id).exists()
    assert globex.memberships.get().role == "owner"
    assert Invitation.pending(secret) is not None


def test_lists_show_nothing_of_another_organisation(signed_in, globex):
    client = signed_in("owner")
    services.claim_domain(globex, services.SYSTEM, "dl.globex.test")

    for name in ("home", "domains", "analytics", "members", "tokens", "audit-log"):
        page = client.get(reverse(name)).content.decode()
        assert "globex" not in page.lower(), name
