from django.urls import reverse

from apps.packages import services
from apps.packages.models import Revision

MIRROR = "https://mirror.example/cli/{version}/{file}"


def switch_backend(acme) -> Revision:
    rule = acme.packages.get(key="cli").rules.get()
    services.update_rule(rule, services.SYSTEM, {"outgoing-url": MIRROR})
    return Revision.objects.get(object_type="rule", object_id=rule.id, action="update")


def test_it_highlights_what_a_revision_changed(signed_in, acme):
    revision = switch_backend(acme)

    response = signed_in("member").get(reverse("revision", args=[revision.id]))

    changed = [c for c in response.context["changes"] if c.changed]
    assert [(c.field, c.kind, c.after) for c in changed] == [
        ("rule › outgoing-url", "changed", MIRROR)
    ]
    page = response.content.decode()
    assert f"<ins>{MIRROR}</ins>" in page
    assert "1 field changed" in page


def test_a_creation_shows_every_field_as_added(signed_in, acme):
    domain = services.claim_domain(acme, services.SYSTEM, "dl.acme.test")
    revision = Revision.objects.get(object_type="domain", object_id=domain.id)

    response = signed_in("member").get(reverse("revision", args=[revision.id]))

    kinds = {c.field: c.kind for c in response.context["changes"]}
    assert kinds["hostname"] == "added"
    assert set(kinds.values()) == {"added"}


def test_a_rollback_links_to_the_revision_it_undoes(signed_in, acme):
    revision = switch_backend(acme)
    rollback = services.rollback(revision, services.SYSTEM)

    page = signed_in("member").get(reverse("revision", args=[rollback.id])).content.decode()

    assert f'href="{reverse("revision", args=[revision.id])}"' in page


def test_the_history_links_to_each_revision(signed_in, acme):
    revision = switch_backend(acme)

    page = signed_in("member").get(reverse("audit-log")).content.decode()

    assert f'href="{reverse("revision", args=[revision.id])}"' in page


def test_values_are_escaped(signed_in, acme):
    rule = acme.packages.get(key="cli").rules.get()
    services.update_rule(rule, services.SYSTEM, {"package-name": "<script>alert(1)</script>"})
    revision = Revision.objects.get(object_type="rule", object_id=rule.id, action="update")

    page = signed_in("member").get(reverse("revision", args=[revision.id])).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_member_sees_no_rollback_button_there(signed_in, acme):
    revision = switch_backend(acme)

    page = signed_in("member").get(reverse("revision", args=[revision.id])).content.decode()

    assert "Roll back" not in page
