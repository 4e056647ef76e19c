"""Bots and link previewers are recorded but left out of download counts by default."""

from datetime import UTC, datetime

import pytest

from apps.analytics.models import AnalyticsSettings
from apps.analytics.queries import time_series, totals

from .conftest import ingest, make_event

GOOGLEBOT = "Googlebot/2.1 (+http://www.google.com/bot.html)"
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"


@pytest.fixture
def downloads_with_bots(db):
    ingest(
        [make_event(), make_event(), make_event(user_agent=GOOGLEBOT), make_event(user_agent=SLACK)]
    )
    return datetime.now(UTC).date()


def test_bots_are_left_out_by_default(downloads_with_bots):
    today = downloads_with_bots

    assert totals(1, today, today)["downloads"] == 2
    assert totals(1, today, today)["bot_downloads"] == 2
    assert totals(1, today, today)["events"] == 4


def test_an_organisation_can_count_bots(downloads_with_bots):
    from apps.accounts.models import Organisation

    organisation = Organisation.objects.create(id=1, name="Acme", slug="acme")
    AnalyticsSettings.objects.create(organisation=organisation, count_bots=True)
    today = downloads_with_bots

    assert totals(1, today, today)["downloads"] == 4
    assert time_series(1, today, today)[0]["count"] == 4


def test_a_caller_can_override_the_organisations_choice(downloads_with_bots):
    today = downloads_with_bots

    assert totals(1, today, today, include_bots=True)["downloads"] == 4
