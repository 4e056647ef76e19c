from django.urls import reverse

from apps.analytics.models import AnalyticsSettings


def test_it_saves_the_retention_and_the_bot_toggle(signed_in, acme):
    signed_in("admin").post(reverse("settings"), {"retention_days": "30", "count_bots": "on"})

    saved = AnalyticsSettings.for_organisation(acme.id)
    assert (saved.retention_days, saved.count_bots) == (30, True)


def test_it_shows_the_defaults_before_anything_is_saved(signed_in):
    response = signed_in("member").get(reverse("settings"))

    assert response.status_code == 200
    assert response.context["form"].initial["count_bots"] is False
