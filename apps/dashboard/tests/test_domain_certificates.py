"""Certificates and DNS problems on the domains page."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from apps.packages.models import Domain
from apps.packages.tests.test_certificates import LETS_ENCRYPT, issue, store


@pytest.fixture
def storage(tmp_path, settings):
    settings.CADDY_STORAGE = str(tmp_path / "storage")
    return tmp_path / "storage"


def test_the_domains_page_shows_certificates_and_dns_problems(
    signed_in, acme, storage, tmp_path, dns_server, settings
):
    settings.EDGE_ADDRESSES = ["198.51.100.10"]
    Domain.objects.create(organisation=acme, hostname="dl.acme.test", verified=True)
    Domain.objects.create(organisation=acme, hostname="new.acme.test", verified=True)
    dns_server.a["new.acme.test"] = ["203.0.113.5"]
    store(storage, LETS_ENCRYPT, "dl.acme.test", issue(tmp_path, "dl.acme.test", "/CN=R11", 90))

    page = signed_in("member").get(reverse("domains")).content.decode()

    expires = (datetime.now(UTC) + timedelta(days=90)).strftime("%Y-%m-%d")
    assert f"by R11, expires {expires}" in page
    assert "its DNS points at 203.0.113.5, not at this service (198.51.100.10)" in page
