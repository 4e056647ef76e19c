import pytest
from django.contrib.auth.hashers import make_password

from apps.accounts.models import User

pytestmark = pytest.mark.django_db


def test_new_passwords_are_hashed_with_argon2id():
    user = User.objects.create_user("ada@example.com", "correct horse battery")

    assert user.password.startswith("argon2$argon2id$")


def test_an_older_pbkdf2_hash_still_signs_in_and_is_upgraded(client):
    user = User.objects.create_user("ada@example.com")
    User.objects.filter(pk=user.pk).update(
        password=make_password("correct horse battery", hasher="pbkdf2_sha256")
    )

    response = client.post(
        "/accounts/login/", {"username": "ada@example.com", "password": "correct horse battery"}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$")
