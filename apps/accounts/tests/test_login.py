import re

import pytest
from django.core import mail

from apps.accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def user():
    return User.objects.create_user("ada@example.com", "correct horse battery")


def test_it_logs_in_with_email_and_password(client, user):
    response = client.post(
        "/accounts/login/", {"username": "ada@example.com", "password": "correct horse battery"}
    )

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_it_refuses_a_wrong_password_with_a_form_error(client, user):
    response = client.post("/accounts/login/", {"username": "ada@example.com", "password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_it_logs_out_on_post(client, user):
    client.force_login(user)

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302  # back to the login page


def test_the_dashboard_needs_a_login(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_resets_a_password_through_the_emailed_link(client, user):
    client.post("/accounts/password_reset/", {"email": "ada@example.com"})

    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    path = link.split("testserver", 1)[1]
    form_page = client.get(path, follow=True)
    response = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a brand new passphrase", "new_password2": "a brand new passphrase"},
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a brand new passphrase")


def test_a_password_reset_for_an_unknown_address_sends_nothing_and_reveals_nothing(client):
    response = client.post("/accounts/password_reset/", {"email": "nobody@example.com"})

    assert response.status_code == 302
    assert mail.outbox == []
