from django.urls import reverse

from apps.accounts.models import ApiToken


def test_it_creates_a_token_and_shows_its_secret_once(signed_in, acme):
    client = signed_in("admin")

    response = client.post(reverse("tokens"), {"name": "CI", "scope": "read"})

    secret = response.context["secret"]
    assert ApiToken.find(secret).organisation == acme
    assert secret not in client.get(reverse("tokens")).content.decode()


def test_it_revokes_a_token(signed_in, acme):
    client = signed_in("admin")
    token, _ = ApiToken.issue(acme, acme.memberships.first().user, name="old")

    client.post(reverse("revoke-token", args=[token.id]))

    token.refresh_from_db()
    assert not token.usable
