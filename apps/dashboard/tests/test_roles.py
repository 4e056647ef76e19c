"""Every page: a member sees it; every form: a member cannot change anything."""

import pytest
from django.urls import reverse

from apps.accounts.models import ApiToken, Invitation
from apps.packages.models import Revision

PAGES = [
    ("home", []),
    ("package-new", []),
    ("domains", []),
    ("analytics", []),
    ("members", []),
    ("tokens", []),
    ("settings", []),
    ("audit-log", []),
]


@pytest.fixture
def objects(acme):
    from apps.packages import services

    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")
    rule = acme.packages.get(key="cli").rules.get()
    return {
        "package": acme.packages.get(key="cli"),
        "rule": rule,
        "domain": acme.domains.get(hostname="dl.acme.test"),
        "revision": Revision.objects.filter(organisation=acme).first(),
        "token": ApiToken.issue(acme, acme.memberships.first().user, name="ci")[0],
        "owner": acme.memberships.get(),
        "invitation": Invitation.issue(acme, acme.memberships.get().user, "d@example.com", "admin")[
            0
        ],
    }


def confirmations(objects):
    """Every page asking to confirm a deletion: only those who may delete see them."""
    return [
        reverse("package-delete", args=[objects["package"].id]),
        reverse("rule-delete", args=[objects["rule"].id]),
        reverse("domain-delete", args=[objects["domain"].id]),
        reverse("member-remove", args=[objects["owner"].id]),
    ]


def changes(objects):
    """Every form of the dashboard, with a body that would change something."""
    return [
        (reverse("package-new") + "?type=pixel-v1", {"domain": "get.acme.test", "package_id": "p"}),
        (reverse("rule-edit", args=[objects["rule"].id]), {"confirm": "1"}),
        (reverse("rollback", args=[objects["revision"].id]), {}),
        (reverse("domains"), {"hostname": "new.acme.test"}),
        (reverse("verify-domain", args=[objects["domain"].id]), {}),
        (reverse("members"), {"email": "x@example.com", "role": "owner"}),
        (reverse("tokens"), {"name": "t", "scope": "write"}),
        (reverse("revoke-token", args=[objects["token"].id]), {}),
        (reverse("settings"), {"retention_days": "1", "count_bots": "on"}),
        (
            reverse("rule-new", args=[objects["package"].id]) + "?type=pixel-v1",
            {"domain": "get.acme.test", "incoming_path": "/p.png"},
        ),
        (reverse("member-role", args=[objects["owner"].id]), {"role": "member"}),
        (reverse("revoke-invitation", args=[objects["invitation"].id]), {}),
        *((url, {}) for url in confirmations(objects)),
    ]


@pytest.mark.parametrize(("name", "args"), PAGES)
def test_a_member_sees_every_page(signed_in, name, args):
    assert signed_in("member").get(reverse(name, args=args)).status_code == 200


def test_a_member_sees_the_package_backend_new_rule_and_revision_pages(signed_in, objects):
    client = signed_in("member")

    assert client.get(reverse("package", args=[objects["package"].id])).status_code == 200
    assert client.get(reverse("rule-edit", args=[objects["rule"].id])).status_code == 200
    assert client.get(reverse("rule-new", args=[objects["package"].id])).status_code == 200
    assert client.get(reverse("revision", args=[objects["revision"].id])).status_code == 200


def test_a_member_is_not_asked_to_confirm_deletions(signed_in, objects):
    client = signed_in("member")

    for url in confirmations(objects):
        assert client.get(url).status_code == 403, url


def test_a_member_changes_nothing(signed_in, acme, objects):
    client = signed_in("member")
    revisions = Revision.objects.count()

    for url, body in changes(objects):
        assert client.post(url, body).status_code == 403, url

    assert Revision.objects.count() == revisions
    assert list(acme.invitations.values_list("email", flat=True)) == ["d@example.com"]
    assert acme.api_tokens.filter(revoked=None).count() == 1
    assert acme.memberships.get(id=objects["owner"].id).role == "owner"


def test_a_member_is_offered_no_buttons_that_change_things(signed_in, objects):
    client = signed_in("member")
    package = client.get(reverse("package", args=[objects["package"].id])).content.decode()
    domains = client.get(reverse("domains")).content.decode()
    members = client.get(reverse("members")).content.decode()

    for label in ("Switch backend", "Roll back", "Add a rule", "Delete package", "Delete rule"):
        assert label not in package, label
    assert reverse("domain-delete", args=[objects["domain"].id]) not in domains
    assert "Change role" not in members
    assert "Revoke" not in members


def test_every_page_needs_a_login(client, objects):
    for name, args in PAGES:
        response = client.get(reverse(name, args=args))
        assert response.status_code == 302, name
        assert response["Location"].startswith("/accounts/login/")
