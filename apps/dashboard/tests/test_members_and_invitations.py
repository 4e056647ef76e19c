from django.urls import reverse

from apps.accounts.models import Invitation


def test_it_lists_the_members_with_their_roles(signed_in):
    page = signed_in("member").get(reverse("members")).content.decode()

    assert "ada@example.com" in page
    assert "Owner" in page


def test_an_owner_invites_someone_and_sees_the_link_once(signed_in, acme):
    client = signed_in("owner")

    response = client.post(reverse("members"), {"email": "Dora@example.com", "role": "admin"})

    invitation = Invitation.objects.get(organisation=acme, email="dora@example.com")
    assert invitation.role == "admin"
    assert "/accounts/invitations/" in response.context["link"]
    assert response.context["link"] not in client.get(reverse("members")).content.decode()


def test_an_admin_cannot_invite(signed_in, acme):
    response = signed_in("admin").post(
        reverse("members"), {"email": "x@example.com", "role": "member"}
    )

    assert response.status_code == 403
    assert not acme.invitations.exists()


def test_inviting_a_member_or_the_same_address_twice_is_refused(signed_in, acme):
    client = signed_in("owner")
    client.post(reverse("members"), {"email": "dora@example.com", "role": "admin"})

    again = client.post(reverse("members"), {"email": "dora@example.com", "role": "member"})
    member = client.post(reverse("members"), {"email": "ada@example.com", "role": "member"})

    assert "is invited already" in again.context["form"].errors["email"][0]
    assert "is already a member" in member.context["form"].errors["email"][0]
    assert Invitation.objects.filter(organisation=acme).count() == 1
