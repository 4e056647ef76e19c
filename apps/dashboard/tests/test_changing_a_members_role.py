from django.urls import reverse

from apps.accounts.models import Membership
from scarf.testing import sign_in

from .conftest import make_user


def join(acme, email: str, role: str) -> Membership:
    return Membership.objects.create(user=make_user(email), organisation=acme, role=role)


def test_an_owner_changes_a_members_role(signed_in, acme):
    grace = join(acme, "grace@example.com", "member")

    response = signed_in("owner").post(
        reverse("member-role", args=[grace.id]), {"role": "admin"}, follow=True
    )

    grace.refresh_from_db()
    assert grace.role == "admin"
    assert "grace@example.com is now admin of Acme" in response.content.decode()


def test_an_owner_hands_over_and_steps_down(signed_in, acme):
    client = signed_in("owner")
    acme.memberships.filter(user__email="ada@example.com").delete()
    me = acme.memberships.get(role="owner")
    bo = join(acme, "bo@example.com", "member")

    client.post(reverse("member-role", args=[bo.id]), {"role": "owner"})
    client.post(reverse("member-role", args=[me.id]), {"role": "member"})

    me.refresh_from_db()
    assert me.role == "member"
    assert acme.memberships.get(role="owner") == bo


def test_the_last_owner_cannot_be_demoted(client, acme):
    ada = acme.memberships.get(user__email="ada@example.com")
    sign_in(client, ada.user)

    response = client.post(reverse("member-role", args=[ada.id]), {"role": "admin"}, follow=True)

    ada.refresh_from_db()
    assert ada.role == "owner"
    assert "the organisation needs an owner" in response.content.decode()


def test_an_unknown_role_changes_nothing(signed_in, acme):
    grace = join(acme, "grace@example.com", "member")

    response = signed_in("owner").post(
        reverse("member-role", args=[grace.id]), {"role": "god"}, follow=True
    )

    grace.refresh_from_db()
    assert grace.role == "member"
    assert "Choose a role" in response.content.decode()


def test_an_admin_cannot_change_roles_not_even_their_own(signed_in, acme):
    client = signed_in("admin")
    me = acme.memberships.get(role="admin")
    grace = join(acme, "grace@example.com", "member")

    assert client.post(reverse("member-role", args=[me.id]), {"role": "owner"}).status_code == 403
    assert (
        client.post(reverse("member-role", args=[grace.id]), {"role": "admin"}).status_code == 403
    )

    me.refresh_from_db()
    grace.refresh_from_db()
    assert (me.role, grace.role) == ("admin", "member")


def test_a_member_cannot_promote_themselves(signed_in, acme):
    client = signed_in("member")
    me = acme.memberships.get(role="member")

    response = client.post(reverse("member-role", args=[me.id]), {"role": "owner"})

    me.refresh_from_db()
    assert response.status_code == 403
    assert me.role == "member"


def test_only_owners_see_the_role_controls(signed_in, acme):
    owner_page = signed_in("owner").get(reverse("members")).content.decode()
    admin_page = signed_in("admin").get(reverse("members")).content.decode()

    assert "Change role of ada@example.com" in owner_page
    assert "Change role" not in admin_page
    assert "Remove" not in admin_page
