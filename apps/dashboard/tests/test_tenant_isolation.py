"""Another organisation's objects are not found, whatever the role."""

from django.urls import reverse

from apps.accounts.models import ApiToken
from apps.packages import services
from apps.packages.models import Revision


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


def test_lists_show_nothing_of_another_organisation(signed_in, globex):
    client = signed_in("owner")
    services.claim_domain(globex, services.SYSTEM, "dl.globex.test")

    for name in ("home", "domains", "analytics", "members", "tokens", "audit-log"):
        page = client.get(reverse(name)).content.decode()
        assert "globex" not in page.lower(), name
