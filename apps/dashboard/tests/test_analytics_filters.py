"""Narrowing analytics to a version, a client, a country, CI or not, with
or without bots: the totals, the chart, every breakdown and the exports."""

import json

import pytest
from django.urls import reverse

from apps.analytics.models import AnalyticsSettings
from apps.analytics.tests.conftest import cli_download, ingest, ingest_mixed_downloads


@pytest.fixture
def downloads(acme, test_mmdb):
    ingest_mixed_downloads(acme)


def page(test_client, **query):
    response = test_client.get(reverse("analytics"), query)
    assert response.status_code == 200
    return response


def totals(response) -> dict:
    return response.context["report"]["totals"]


def breakdown(response, dimension: str) -> dict:
    rows = {b["dimension"]: b["rows"] for b in response.context["report"]["breakdowns"]}
    return {row["label"]: row["count"] for row in rows[dimension]}


def test_a_version_narrows_the_totals_the_chart_and_every_breakdown(signed_in, downloads):
    response = page(signed_in("member"), version="1.0")

    report = response.context["report"]
    assert report["totals"]["downloads"] == 2
    assert report["series"]["downloads"] == [0] * 29 + [2]
    assert breakdown(response, "client") == {"curl": 1, "docker": 1}
    assert breakdown(response, "country") == {"DE": 1, "FR": 1}
    assert breakdown(response, "version") == {"1.0": 2}


def test_filters_combine_once_asked_to_count_the_raw_events(signed_in, downloads):
    client = signed_in("member")

    first = page(client, version="2.0", client="curl", country="de")
    counted = page(client, version="2.0", client="curl", country="de", count="1")

    assert "report" not in first.context
    html = first.content.decode()
    assert "Two filters at once are counted from the raw events of the period (5 events" in html
    assert "this takes about 1 s" in html
    assert "count=1" in html
    assert totals(counted)["downloads"] == 1
    assert counted.context["form"].cleaned_data["country"] == "DE"


def test_ci_downloads_can_be_shown_alone_or_left_out(signed_in, downloads):
    client = signed_in("member")

    in_ci = page(client, ci="true")
    not_ci = page(client, ci="false")

    assert breakdown(in_ci, "ci") == {"github-actions": 1}
    assert totals(not_ci)["downloads"] == 3


def test_bots_are_left_out_unless_the_toggle_counts_them(signed_in, downloads):
    client = signed_in("member")

    assert totals(page(client))["downloads"] == 4
    assert totals(page(client, include_bots="true"))["downloads"] == 5
    assert totals(page(client, include_bots="true", version="2.0"))["downloads"] == 3


def test_the_toggle_starts_as_the_organisation_counts_bots(signed_in, acme, downloads):
    AnalyticsSettings.objects.create(organisation=acme, count_bots=True)

    response = page(signed_in("member"))

    assert totals(response)["downloads"] == 5
    assert response.context["form"]["include_bots"].value() == "true"


def test_the_export_links_carry_the_filters_and_the_exports_apply_them(signed_in, downloads):
    client = signed_in("member")
    query = {"version": "2.0", "include_bots": "false"}

    html = page(client, **query).content.decode()
    export = client.get(reverse("analytics-export", args=["ndjson"]), query)

    assert "export.csv?version=2.0&amp;include_bots=false" in html
    rows = [json.loads(line) for line in b"".join(export.streaming_content).splitlines()]
    assert sorted(row["client"] for row in rows) == ["curl", "npm"]


def test_an_export_with_bots_counted_includes_their_events(signed_in, downloads):
    export = signed_in("member").get(
        reverse("analytics-export", args=["csv"]), {"include_bots": "true", "version": "2.0"}
    )

    assert b"".join(export.streaming_content).decode().count("Googlebot") == 1


def test_each_version_client_and_country_links_to_the_page_narrowed_to_it(signed_in, downloads):
    html = page(signed_in("member"), interval="week").content.decode()

    assert '<a href="?interval=week&amp;version=1.0">1.0</a>' in html
    assert '<a href="?interval=week&amp;country=FR">FR</a>' in html


def test_a_filtered_page_says_where_its_counts_come_from(signed_in, downloads):
    html = page(signed_in("member"), client="docker").content.decode()
    both = page(signed_in("member"), client="docker", ci="false", count="1").content.decode()

    assert "Filtered counts come from daily summaries" in html
    assert "Show every version, client, country and CI" in html
    assert "read from the raw events, which are kept 395 days" in both


def test_a_filter_matching_nothing_says_so(signed_in, downloads):
    html = page(signed_in("member"), version="9.9").content.decode()

    assert "Nothing matches these filters" in html
    assert "No downloads in this period yet" not in html


def test_a_bad_country_is_explained_next_to_the_field(signed_in, downloads):
    response = page(signed_in("member"), country="Germany")

    assert response.context["form"].errors["country"] == ["Enter a two-letter country code."]
    assert "report" not in response.context


def test_another_organisations_downloads_never_match(signed_in, globex, downloads):
    ingest([cli_download(globex, "1.0")])

    response = page(signed_in("member"), version="1.0")

    assert totals(response)["downloads"] == 2
