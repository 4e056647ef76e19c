from django.urls import reverse

from apps.accounts.models import ApiToken, Membership
from scarf.testing import sign_in

from .conftest import make_user


def test_removing_asks_first_and_says_what_happens(signed_in, acme):
    grace = Membership.objects.create(
        user=make_user("grace@example.com"), organisation=acme, role="admin"
    )

    page = signed_in("owner").get(reverse("member-remove", args=[grace.id])).content.decode()

    assert "Remove grace@example.com from Acme?" in page
    assert "API tokens they created stop working" in page
    assert acme.memberships.filter(id=grace.id).exists()


def test_an_owner_removes_a_member_whose_tokens_stop_working(signed_in, acme):
    grace = Membership.objects.create(
        user=make_user("grace@example.com"), organisation=acme, role="admin"
    )
    token, _ = ApiToken.issue(acme, grace.user, name="grace ci", scope="write")

    response = signed_in("owner").post(reverse("member-remove", args=[grace.id]))

    assert response["Location"] == reverse("members")
    assert not acme.memberships.filter(id=grace.id).exists()
    assert token.role is None


def test_the_last_owner_cannot_be_removed(client, acme):
    ada = acme.memberships.get(user__email="ada@example.com")
    sign_in(client, ada.user)

    response = client.post(reverse("member-remove", args=[ada.id]))

    assert response.status_code == 200
    assert "Not done: the organisation needs an owner" in response.content.decode()
    assert acme.memberships.filter(id=ada.id).exists()


def test_an_owner_who_leaves_goes_home(signed_in, acme):
    client = signed_in("owner")
    me = acme.memberships.exclude(user__email="ada@example.com").get()

    response = client.post(reverse("member-remove", args=[me.id]))

    assert response["Location"] == reverse("home")
    assert not acme.memberships.filter(id=me.id).exists()


def test_an_admin_cannot_remove_anyone(signed_in, acme):
    ada = acme.memberships.get(user__email="ada@example.com")
    client = signed_in("admin")

    assert client.get(reverse("member-remove", args=[ada.id])).status_code == 403
    assert client.post(reverse("member-remove", args=[ada.id])).status_code == 403
    assert acme.memberships.filter(id=ada.id).exists()
