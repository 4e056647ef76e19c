"""A domain whose organisation turned on "HTTPS only": plain HTTP gets a 308 to
the same URL on HTTPS, HTTPS gets the rules' answer, and only that is counted."""

import pytest

from apps.analytics.events import read_stream_events
from apps.gateway.app import GatewayApp
from apps.gateway.routing import RoutingTable
from apps.packages.manifests import import_manifest
from apps.packages.models import Domain

from .test_request_fuzzing import DatabaseSnapshot, call


@pytest.fixture
def app(acme, every_rule_type):
    import_manifest(acme, every_rule_type, verify_domains=True)
    Domain.objects.filter(hostname="get.acme.test").update(https_only=True)

    def make() -> GatewayApp:
        table = RoutingTable(DatabaseSnapshot(["get.acme.test", "www.acme.test"]))
        return GatewayApp(table, watch=False)

    return make


def https(headers=None):
    """What the trusted edge adds for a client that came over HTTPS."""
    return {"X-Forwarded-Proto": "https", **(headers or {})}


@pytest.mark.django_db
def test_plain_http_is_redirected_permanently_to_https(app, redis_db):
    status, headers, _ = call(app(), "/install.sh?x=1&y=%20", "get.acme.test")

    assert status == 308
    assert dict(headers)["Location"] == "https://get.acme.test/install.sh?x=1&y=%20"
    assert read_stream_events(redis_db) == []


@pytest.mark.django_db
def test_https_gets_the_rules_answer_and_is_counted(app, redis_db, settings):
    settings.TRUSTED_PROXIES = ["203.0.113.0/24"]

    status, _, _ = call(app(), "/install.sh", "get.acme.test", headers=https())

    assert status == 307
    assert [e["status"] for e in read_stream_events(redis_db)] == [307]


@pytest.mark.django_db
def test_the_redirect_names_the_edges_port_when_it_is_not_443(app, settings):
    settings.PUBLIC_HTTPS_PORT = 8443

    _, headers, _ = call(app(), "/install.sh", "get.acme.test:8080")

    assert dict(headers)["Location"] == "https://get.acme.test:8443/install.sh"


@pytest.mark.django_db
def test_other_domains_still_answer_plain_http(app):
    assert call(app(), "/install.sh", "www.acme.test")[0] != 308
