"""The navigation's organisation switcher lists the signed-in person's own
organisations on every page, the members page included."""

import pytest
from django.urls import reverse

from apps.accounts.models import Membership


@pytest.mark.parametrize("page", ["members", "home", "organisations"])
def test_the_switcher_lists_my_organisations_once_each(signed_in, acme, globex, page):
    client = signed_in(Membership.OWNER)
    user = client.get(reverse("home")).context["user"]
    Membership.objects.create(user=user, organisation=globex, role=Membership.MEMBER)

    response = client.get(reverse(page))

    names = [m.organisation.name for m in response.context["memberships"]]
    assert names == ["Acme", "Globex"]
