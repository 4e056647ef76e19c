from django.urls import reverse

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
