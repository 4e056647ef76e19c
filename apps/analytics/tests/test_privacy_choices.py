"""An organisation that turns off country, network or referer collection gets none stored."""

import pytest

from apps.accounts.models import Organisation
from apps.analytics.models import AnalyticsSettings, DownloadEvent, Rollup

from .conftest import IP_DE, ingest, make_event

REFERER = "https://docs.example.org/install"


@pytest.fixture
def two_organisations(db):
    private = Organisation.objects.create(name="Private", slug="private")
    open_ = Organisation.objects.create(name="Open", slug="open")
    AnalyticsSettings.objects.create(
        organisation=private, collect_country=False, collect_asn=False, collect_referer=False
    )
    return private, open_


def test_what_an_organisation_turns_off_is_not_stored(two_organisations, test_mmdb):
    private, open_ = two_organisations
    events = [
        make_event(organisation=organisation.id, client_ip=IP_DE, referer=REFERER)
        for organisation in (private, open_)
    ]

    ingest(events)

    kept = DownloadEvent.objects.get(organisation_id=open_.id)
    withheld = DownloadEvent.objects.get(organisation_id=private.id)
    assert (kept.country, kept.referer) == ("DE", REFERER)
    assert kept.asn_org != ""
    assert (withheld.country, withheld.asn_org, withheld.referer) == ("", "", "")
    assert withheld.download  # still counted
    assert withheld.source_id  # and still counted among unique sources
    countries = Rollup.objects.filter(organisation_id=private.id, dimension="country")
    assert set(countries.values_list("value", flat=True)) == {""}
