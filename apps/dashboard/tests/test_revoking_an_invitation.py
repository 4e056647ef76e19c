import pytest
from django.urls import reverse

from apps.accounts.models import Invitation, User


@pytest.fixture
def invitation(acme):
    """Dora's pending invitation from Ada, with its secret."""
    ada = User.objects.get(email="ada@example.com")
    return Invitation.issue(acme, ada, "dora@example.com", "admin")


def test_an_owner_revokes_a_pending_invitation_and_its_link_dies(signed_in, invitation):
    pending, secret = invitation

    response = signed_in("owner").post(reverse("revoke-invitation", args=[pending.id]), follow=True)

    assert Invitation.pending(secret) is None
    assert "Revoked the invitation of dora@example.com" in response.content.decode()


def test_an_accepted_invitation_is_not_revocable(signed_in, invitation):
    pending, _ = invitation
    Invitation.objects.filter(id=pending.id).update(accepted="2026-01-01T00:00:00Z")

    response = signed_in("owner").post(reverse("revoke-invitation", args=[pending.id]))

    assert response.status_code == 404
    assert Invitation.objects.filter(id=pending.id).exists()


def test_revoking_needs_a_post(signed_in, invitation):
    url = reverse("revoke-invitation", args=[invitation[0].id])

    assert signed_in("owner").get(url).status_code == 405


def test_an_admin_cannot_revoke(signed_in, invitation):
    pending, secret = invitation

    response = signed_in("admin").post(reverse("revoke-invitation", args=[pending.id]))

    assert response.status_code == 403
    assert Invitation.pending(secret) is not None


def test_owners_get_a_revoke_button_per_invitation(signed_in, invitation):
    page = signed_in("owner").get(reverse("members")).content.decode()

    assert 'aria-label="Revoke the invitation of dora@example.com"' in page
