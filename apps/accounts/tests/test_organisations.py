import pytest

from apps.accounts.models import Membership, Organisation, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada(client):
    client.post(
        "/accounts/signup/",
        {"email": "ada@example.com", "password": "correct horse battery", "organisation": "Ada"},
    )
    return User.objects.get(email="ada@example.com")


def test_it_creates_a_second_organisation_owned_by_the_user_and_switches_to_it(client, ada):
    response = client.post("/accounts/organisations/", {"name": "Side Project"}, follow=True)

    side = Organisation.objects.get(name="Side Project")
    assert Membership.objects.get(user=ada, organisation=side).role == Membership.OWNER
    assert response.context["request"].organisation == side


def test_it_switches_between_organisations(client, ada):
    client.post("/accounts/organisations/", {"name": "Side Project"})

    response = client.post("/accounts/organisations/ada/switch/", follow=True)

    assert response.context["request"].organisation.slug == "ada"
    assert b"<h1>Ada</h1>" in response.content


def test_it_will_not_switch_to_an_organisation_the_user_is_not_in(client, ada):
    other = Organisation.objects.create(name="Other", slug="other")

    response = client.post(f"/accounts/organisations/{other.slug}/switch/")

    assert response.status_code == 404
    assert client.get("/").context["request"].organisation.slug == "ada"


def test_switching_needs_a_post(client, ada):
    assert client.get("/accounts/organisations/ada/switch/").status_code == 405


def test_a_blank_organisation_name_is_a_form_error(client, ada):
    response = client.post("/accounts/organisations/", {"name": ""})

    assert response.status_code == 200
    assert "name" in response.context["form"].errors
    assert Organisation.objects.count() == 1


def test_a_user_sees_only_their_own_organisations(client, ada):
    Organisation.objects.create(name="Secret Corp", slug="secret")

    response = client.get("/accounts/organisations/")

    assert b"Secret Corp" not in response.content
    assert b"Ada" in response.content
