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


def tools(count: int, changed: int | None = None) -> dict:
    """A manifest of `count` file rules on one domain; rule `changed` to a mirror."""
    rules = [
        {
            "type": "file-v1",
            "domain": "many.acme.test",
            "package-id": f"tool-{n}",
            "incoming-path": f"/tool-{n}/{{version}}/{{file}}",
            "outgoing-url": (
                MIRROR if n == changed else f"https://dl.example/tool-{n}/{{version}}/{{file}}"
            ),
        }
        for n in range(count)
    ]
    return {"rules": rules}


def test_a_large_import_lists_its_changes_only_a_page_at_a_time(signed_in, acme):
    _, created = services.import_manifest(acme, services.SYSTEM, tools(120), verify_domains=True)
    _, changed = services.import_manifest(acme, services.SYSTEM, tools(120, changed=7))
    client = signed_in("member")

    response = client.get(reverse("revision", args=[changed.id]))

    rule = acme.packages.get(key="tool-7").rules.get()
    shown = {c.field: c.after for c in response.context["changes"]}
    assert shown[f"domains › many.acme.test › #{rule.id} › rule › outgoing-url"] == MIRROR
    assert len(shown) == 3  # and the import's lists of what it created, empty
    page = response.content.decode()
    assert "3 fields changed; only they are listed" in page
    assert "unchanged are left out" in page

    everything = client.get(reverse("revision", args=[created.id]))
    shown = everything.context["changes"]
    total = everything.context["page"].paginator.count
    assert len(shown) == 200 < total
    assert all(c.changed for c in shown)
    pages = everything.context["page"].paginator.num_pages
    last = client.get(reverse("revision", args=[created.id]), {"page": pages})
    assert len(last.context["changes"]) == total - 200 * (pages - 1)
    assert 'rel="next"' in everything.content.decode()
