"""A domain's certificate and DNS on GET /api/v1/domains/{id}/ (apps/packages/certificates.py)."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.packages.models import Domain
from apps.packages.tests.test_certificates import LETS_ENCRYPT, issue, store


@pytest.fixture
def storage(tmp_path, settings):
    settings.CADDY_STORAGE = str(tmp_path / "storage")
    return tmp_path / "storage"


def test_the_api_shows_an_issued_certificate(api, acme, storage, tmp_path):
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test", verified=True)
    store(storage, LETS_ENCRYPT, "dl.acme.test", issue(tmp_path, "dl.acme.test", "/CN=R11", 90))

    body = api.get(f"/api/v1/domains/{domain.id}/").json()

    assert body["certificate"]["issued"] is True
    assert body["certificate"]["issuer"] == "R11"
    assert body["certificate"]["expired"] is False
    assert body["certificate"]["not_after"].startswith(
        (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d")
    )
    assert body["dns"] is None


def test_a_verified_domain_whose_dns_points_elsewhere_says_so(
    api, acme, storage, dns_server, settings
):
    settings.EDGE_ADDRESSES = ["198.51.100.10"]
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test", verified=True)
    dns_server.a["dl.acme.test"] = ["203.0.113.5"]

    body = api.get(f"/api/v1/domains/{domain.id}/").json()

    assert body["certificate"]["issued"] is False
    assert body["dns"] == {
        "addresses": ["203.0.113.5"],
        "points_here": False,
        "problem": "its DNS points at 203.0.113.5, not at this service (198.51.100.10)",
    }


def test_a_verified_domain_without_an_address_says_so(api, acme, storage, dns_server, settings):
    settings.EDGE_ADDRESSES = ["198.51.100.10"]
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test", verified=True)

    body = api.get(f"/api/v1/domains/{domain.id}/").json()

    assert body["dns"]["problem"] == (
        "its name has no A or AAAA record yet: point it at 198.51.100.10"
    )


def test_a_domain_pointing_here_waits_for_its_first_https_request(
    api, acme, storage, dns_server, settings
):
    settings.EDGE_ADDRESSES = ["198.51.100.10"]
    domain = Domain.objects.create(organisation=acme, hostname="dl.acme.test", verified=True)
    dns_server.a["dl.acme.test"] = ["198.51.100.10"]

    body = api.get(f"/api/v1/domains/{domain.id}/").json()

    assert body["dns"] == {"addresses": ["198.51.100.10"], "points_here": True, "problem": ""}
