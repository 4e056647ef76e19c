"""Where downloads come from: the country database installs with one command, and
the analytics page says when country or network data is off or missing."""

import os
import subprocess
import sys

import maxminddb
import pytest
from django.urls import reverse

from apps.analytics import enrichment
from apps.analytics.models import AnalyticsSettings
from apps.analytics.networks import NetworkRanges
from scarf.testing import BASE_DIR


@pytest.fixture
def geo(settings):
    """Set the two databases' paths for one test (the readers are reopened)."""

    def configure(country: str = "", asn: str = "", ranges: str = ""):
        settings.ANALYTICS_COUNTRY_MMDB, settings.ANALYTICS_ASN_MMDB = country, asn
        settings.ANALYTICS_ASN_RANGES = ranges
        enrichment._open_mmdb.cache_clear()

    yield configure
    enrichment._open_mmdb.cache_clear()


def analytics_page(client) -> str:
    return client.get(reverse("analytics")).content.decode()


def test_without_databases_the_page_says_how_to_install_them(signed_in, geo):
    geo()

    page = analytics_page(signed_in("member"))

    assert "no country database is installed" in page
    assert "bash scripts/geo.sh" in page
    assert "Networks (AS organisations) are not looked up" in page


def test_a_database_path_that_holds_none_is_reported(signed_in, geo, tmp_path):
    (tmp_path / "junk.mmdb").write_bytes(b"not a database")
    geo(country=str(tmp_path / "absent.mmdb"), asn=str(tmp_path / "junk.mmdb"))

    page = analytics_page(signed_in("member"))

    assert "names a file that is missing or not a country database" in page
    assert "names a file that is missing or not network data" in page


def test_an_organisation_that_turns_countries_off_is_told_so(signed_in, geo, acme, test_mmdb):
    AnalyticsSettings.objects.create(organisation=acme, collect_country=False)

    page = analytics_page(signed_in("member"))

    assert "turn them off" in page
    assert "no country database" not in page


def test_the_installed_databases_answer_and_are_the_defaults(signed_in, geo, tmp_path):
    """scripts/geo.sh with real npm, checked against the lock's integrity."""
    var = tmp_path / "var"
    installed = subprocess.run(
        ["bash", "scripts/geo.sh"],
        cwd=BASE_DIR,
        env={**os.environ, "VAR_DIR": str(var)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stderr
    database, networks = var / "geo" / "country.mmdb", var / "geo" / "asn"
    with maxminddb.open_database(str(database)) as reader:
        assert reader.get("8.8.8.8") == {"country_code": "US"}
        assert reader.get("1.1.1.1") == {"country_code": "AU"}
    ranges = NetworkRanges.load(networks)
    assert ranges.organisation("8.8.8.8") == "Google LLC"
    assert ranges.organisation("2606:4700:4700::1111") == "Cloudflare, Inc."

    assert settings_value("ANALYTICS_COUNTRY_MMDB", var) == str(database)
    assert settings_value("ANALYTICS_ASN_RANGES", var) == str(networks)

    geo(country=str(database), ranges=str(networks))
    page = analytics_page(signed_in("member"))
    assert "no country database" not in page
    assert "nro.net" in page
    assert "not looked up" not in page
    assert '<a href="https://db-ip.com">IP Geolocation by DB-IP</a>' in page
    assert enrichment.asn_org("140.82.112.3") == "GitHub, Inc."


def test_a_network_ranges_path_that_holds_none_is_reported(signed_in, geo, tmp_path):
    geo(ranges=str(tmp_path / "absent"))

    page = analytics_page(signed_in("member"))

    assert "names a file that is missing or not network data" in page
    assert "IP Geolocation by DB-IP" not in page


def test_the_page_says_how_to_install_network_data(signed_in, geo):
    geo()

    page = analytics_page(signed_in("member"))

    assert "no network data is installed" in page
    assert "IP Geolocation by DB-IP" not in page  # credited only when its data is used


def settings_value(name: str, var) -> str:
    """A setting as a fresh process with VAR_DIR=`var` (and `name` unset) reads it."""
    found = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"],
        cwd=BASE_DIR,
        env={
            **{k: v for k, v in os.environ.items() if k != name},
            "DJANGO_SETTINGS_MODULE": "scarf.settings",
            "VAR_DIR": str(var),
        },
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    return found.stdout.strip()


def test_an_asn_database_put_in_var_geo_is_the_default(signed_in, geo, tmp_path, test_mmdb):
    var = tmp_path / "var"
    assert settings_value("ANALYTICS_ASN_MMDB", var) == ""
    (var / "geo").mkdir(parents=True)
    (var / "geo" / "asn.mmdb").write_bytes(test_mmdb.read_bytes())

    path = settings_value("ANALYTICS_ASN_MMDB", var)

    assert path == str(var / "geo" / "asn.mmdb")
    geo(asn=path)
    assert "Networks (AS organisations) are not looked up" not in analytics_page(
        signed_in("member")
    )
