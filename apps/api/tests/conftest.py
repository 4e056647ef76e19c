import pytest
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken, Membership, Organisation, User
from apps.analytics.tests.conftest import test_mmdb  # noqa: F401 - analytics' fixtures, shared
from apps.gateway.tests.conftest import every_rule_type, gateway_server, load_manifest  # noqa: F401
from apps.packages.manifests import import_manifest


def make_user(email: str) -> User:
    return User.objects.create_user(email, "correct horse battery")


def api_client(secret: str | None = None) -> APIClient:
    client = APIClient()
    if secret:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def issue_token(organisation: Organisation, user: User, scope: str = "write", **fields) -> str:
    return ApiToken.issue(organisation, user, name=f"{scope} token", scope=scope, **fields)[1]


@pytest.fixture
def ada(db):
    return make_user("ada@example.com")


@pytest.fixture
def acme(ada):
    """Ada's organisation, with the every-rule-type manifest on verified domains."""
    organisation = Organisation.create_for(ada, "Acme")
    import_manifest(organisation, load_manifest("every-rule-type.json"), verify_domains=True)
    return organisation


@pytest.fixture
def api(acme, ada):
    """A client with a write token of Acme."""
    return api_client(issue_token(acme, ada))


@pytest.fixture
def read_api(acme, ada):
    return api_client(issue_token(acme, ada, scope="read"))


@pytest.fixture
def owner_session(ada, acme):
    client = APIClient()
    client.force_login(ada)
    return client


def join(organisation: Organisation, email: str, role: str) -> User:
    user = make_user(email)
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user
