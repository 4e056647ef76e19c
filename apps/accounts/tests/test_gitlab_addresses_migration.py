"""Migration 0004: a GitLab account's address, recorded unverified before the
adapter kept it verified, is verified when GitLab said the account is
confirmed; nothing else changes."""

import importlib

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.apps import apps

from apps.accounts.models import User

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "apps.accounts.migrations.0004_verify_confirmed_gitlab_addresses"
)


def forge_user(email: str, provider: str, **extra) -> User:
    user = User.objects.create_user(email, None)
    EmailAddress.objects.create(user=user, email=email, verified=False, primary=True)
    SocialAccount.objects.create(
        user=user, provider=provider, uid=email, extra_data={"email": email, **extra}
    )
    return user


def verified(user: User) -> dict[str, bool]:
    return dict(EmailAddress.objects.filter(user=user).values_list("email", "verified"))


def test_a_confirmed_gitlab_accounts_address_is_verified_and_only_that_one():
    ada = forge_user("ada@example.com", "gitlab", confirmed_at="2024-01-02T03:04:05Z")
    EmailAddress.objects.create(user=ada, email="ada@elsewhere.example", verified=False)
    bob = forge_user("bob@example.com", "gitlab", confirmed_at=None)
    eve = forge_user("eve@example.com", "github", confirmed_at="2024-01-02T03:04:05Z")

    migration.verify(apps, None)

    assert verified(ada) == {"ada@example.com": True, "ada@elsewhere.example": False}
    assert verified(bob) == {"bob@example.com": False}
    assert verified(eve) == {"eve@example.com": False}
