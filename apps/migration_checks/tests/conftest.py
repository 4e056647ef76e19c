import time

import pytest

from apps.accounts.models import Organisation, User
from apps.migration_checks.models import MigrationCheck
from apps.packages.manifests import import_manifest
from apps.packages.services import Actor

DOMAIN = "get.acme.test"


@pytest.fixture
def ada(db):
    return User.objects.create_user("ada@example.com", "correct horse battery")


@pytest.fixture
def acme(ada):
    return Organisation.create_for(ada, "Acme")


@pytest.fixture
def actor(ada):
    return Actor(user=ada)


def add_rule(organisation, rule: dict):
    """Import one rule on the verified test domain; returns the stored Rule."""
    import_manifest(organisation, {"rules": [{"domain": DOMAIN, **rule}]}, verify_domains=True)
    return organisation.packages.get().rules.get()


def finished(check: MigrationCheck, timeout: float = 60) -> MigrationCheck:
    """The check once the worker has run it (polls; fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check.refresh_from_db()
        if check.is_finished:
            return check
        time.sleep(0.1)
    raise AssertionError(f"check {check.id} still {check.status} after {timeout}s")


def items(check: MigrationCheck, kind: str) -> list:
    return [entry["item"] for entry in check.report[kind]]
