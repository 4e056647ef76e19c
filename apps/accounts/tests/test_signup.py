import pytest
from django.core import mail

from apps.accounts.models import Membership, Organisation, User

pytestmark = pytest.mark.django_db

GOOD = {"email": "ada@example.com", "password": "correct horse battery", "organisation": "Ada Labs"}


def test_it_creates_a_user_an_organisation_and_an_owner_membership(client):
    response = client.post("/accounts/signup/", GOOD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(email="ada@example.com")
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.OWNER
    assert membership.organisation.name == "Ada Labs"
    assert membership.organisation.slug == "ada-labs"


def test_it_signs_the_new_user_in(client):
    client.post("/accounts/signup/", GOOD)

    response = client.get("/")

    assert response.status_code == 200
    assert b"Ada Labs" in response.content


def test_it_rejects_a_taken_email_with_a_form_error(client):
    User.objects.create_user("ada@example.com", "another good password")

    response = client.post("/accounts/signup/", {**GOOD, "email": "ADA@example.com"})

    assert response.status_code == 200
    assert "already exists" in response.context["form"].errors["email"][0]
    assert User.objects.count() == 1
    assert Organisation.objects.count() == 0


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short1", "too short"), ("password123", "too common"), ("48291736450", "entirely numeric")],
)
def test_it_rejects_a_weak_password_with_a_form_error(client, password, reason):
    response = client.post("/accounts/signup/", {**GOOD, "password": password})

    assert response.status_code == 200
    assert reason in " ".join(response.context["form"].errors["password"])
    assert not User.objects.exists()


def test_it_names_every_missing_field(client):
    response = client.post("/accounts/signup/", {})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"email", "password", "organisation"}


def test_it_gives_organisations_with_the_same_name_distinct_slugs(client):
    client.post("/accounts/signup/", GOOD)
    client.logout()
    client.post("/accounts/signup/", {**GOOD, "email": "bob@example.com"})

    assert sorted(Organisation.objects.values_list("slug", flat=True)) == [
        "ada-labs",
        "ada-labs-2",
    ]


def test_the_welcome_email_is_sent_by_a_real_celery_worker(celery_worker):
    user = User.objects.create_user("grace@example.com", "a long enough password")

    from apps.accounts.tasks import send_welcome_email

    result = send_welcome_email.delay(user.id)

    assert result.get(timeout=30) == "grace@example.com"
    assert mail.outbox[-1].to == ["grace@example.com"]
    assert "Welcome" in mail.outbox[-1].subject
