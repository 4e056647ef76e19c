from datetime import UTC, datetime, time

import pytest

from apps.accounts.models import Membership, Organisation, User
from apps.analytics.models import Rollup
from apps.analytics.tests.conftest import test_mmdb  # noqa: F401 - analytics' fixtures, shared
from apps.dashboard.forms import KIND_BY_TYPE, initial_of
from apps.gateway.tests.conftest import load_manifest
from apps.packages.manifests import import_manifest
from scarf.testing import sign_in


def make_user(email: str) -> User:
    return User.objects.create_user(email, "correct horse battery")


@pytest.fixture
def acme(db):
    """Ada's organisation, with the every-rule-type manifest on verified domains."""
    organisation = Organisation.create_for(make_user("ada@example.com"), "Acme")
    import_manifest(organisation, load_manifest("every-rule-type.json"), verify_domains=True)
    return organisation


@pytest.fixture
def globex(db):
    """Another tenant, whose objects Acme's people must never see or change."""
    organisation = Organisation.create_for(make_user("gus@example.com"), "Globex")
    rule = {
        "type": "file-v1",
        "domain": "get.globex.test",
        "package-id": "globex-secret-cli",
        "incoming-path": "/x",
        "outgoing-url": "https://globex.example/x",
    }
    import_manifest(organisation, {"rules": [rule]}, verify_domains=True)
    return organisation


@pytest.fixture
def signed_in(client, acme):
    """`signed_in(role)`: the test client, signed in as a new person holding `role` in Acme."""

    def as_role(role: str = Membership.OWNER):
        user = make_user(f"{role}-{User.objects.count()}@example.com")
        Membership.objects.create(user=user, organisation=acme, role=role)
        return sign_in(client, user)

    return as_role


def edit_form(rule, **changes: str) -> dict:
    """What the "switch backend" form posts: the rule's fields as they are, with `changes`."""
    kind = KIND_BY_TYPE[rule.type]
    fields = {k: v for k, v in initial_of(kind, rule.manifest_form()).items() if v is not None}
    return {**fields, **changes}


def count_downloads(organisation, package: str, day, downloads: int, **dimensions: str):
    """Rollups as ingestion writes them: a total and one row per dimension value."""
    bucket = datetime.combine(day, time(), tzinfo=UTC)
    for dimension, value in {"total": "", **dimensions}.items():
        Rollup.objects.create(
            organisation_id=organisation.id,
            period="day",
            dimension=dimension,
            bucket=bucket,
            package=package,
            value=value,
            events=downloads,
            downloads=downloads,
        )
