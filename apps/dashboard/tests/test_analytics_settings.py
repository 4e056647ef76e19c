from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.analytics import retention
from apps.analytics.models import AnalyticsSettings

PRIVACY = ["collect_country", "collect_asn", "collect_referer"]


def test_it_saves_the_retention_and_the_bot_toggle(signed_in, acme):
    signed_in("admin").post(reverse("settings"), {"retention_days": "30", "count_bots": "on"})

    saved = AnalyticsSettings.for_organisation(acme.id)
    assert (saved.retention_days, saved.count_bots) == (30, True)


def test_it_shows_the_defaults_before_anything_is_saved(signed_in):
    response = signed_in("member").get(reverse("settings"))

    assert response.status_code == 200
    assert response.context["form"].initial["count_bots"] is False


def test_what_is_recorded_starts_all_on(signed_in):
    form = signed_in("member").get(reverse("settings")).context["form"]

    assert [form.initial[name] for name in PRIVACY] == [True, True, True]


def test_an_admin_stops_recording_the_country_network_and_referer(signed_in, acme):
    signed_in("admin").post(reverse("settings"), {"retention_days": "", "collect_country": "on"})

    saved = AnalyticsSettings.for_organisation(acme.id)
    assert (saved.collect_country, saved.collect_asn, saved.collect_referer) == (True, False, False)


def test_each_choice_is_labelled_and_explained(signed_in):
    page = signed_in("admin").get(reverse("settings")).content.decode()

    for label in ("Record the country", "Record the network", "Record the referring page"):
        assert label in page
    assert "never stored" in page
    assert "from then on" in page


def test_a_member_sees_the_settings_disabled(signed_in):
    response = signed_in("member").get(reverse("settings"))

    assert all(field.disabled for field in response.context["form"].fields.values())
    assert "Save" not in response.content.decode()


@pytest.mark.parametrize(
    ("days", "reason"),
    [
        ("0", "Ensure this value is greater than or equal to 1."),
        ("1000000", "Ensure this value is less than or equal to 36500."),
    ],
)
def test_a_retention_the_deletion_cannot_honour_is_refused(signed_in, acme, days, reason):
    """0 days would delete every raw event while the pages say the default
    applies; a million days is before year 1, which stopped retention for
    every organisation."""
    response = signed_in("admin").post(reverse("settings"), {"retention_days": days})

    assert response.status_code == 200
    assert response.context["form"].errors["retention_days"] == [reason]
    assert AnalyticsSettings.for_organisation(acme.id).retention_days is None


def test_the_longest_retention_allowed_still_runs_for_every_organisation(signed_in, acme):
    signed_in("admin").post(reverse("settings"), {"retention_days": "36500"})

    assert retention.apply(datetime.now(UTC)) == 0
    assert AnalyticsSettings.for_organisation(acme.id).retention_days == 36500
