from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from apps.analytics import partitions
from apps.analytics.models import DownloadEvent

from .conftest import count_downloads


def test_it_shows_totals_the_series_and_breakdowns(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 3, country="DE", client="curl", ci="")
    count_downloads(acme, "app-image", today, 2, country="FR", client="docker", ci="github")

    response = signed_in("member").get(reverse("analytics"))

    report = response.context["report"]
    breakdowns = {b["dimension"]: b["rows"] for b in report["breakdowns"]}
    assert report["totals"]["downloads"] == 5
    days = [(today - timedelta(days=n)).isoformat() for n in range(29, -1, -1)]
    assert report["series"] == {"labels": days, "downloads": [0] * 29 + [5], "sources": [0] * 30}
    assert [(r["label"], r["count"]) for r in breakdowns["country"]] == [("DE", 3), ("FR", 2)]
    assert [(r["label"], r["count"]) for r in breakdowns["ci"]] == [("not CI", 3), ("github", 2)]
    assert 'id="series-chart"' in response.content.decode()


def test_it_narrows_to_one_package_and_a_date_range(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 3)
    count_downloads(acme, "cli", today - timedelta(days=10), 4)
    count_downloads(acme, "app-image", today, 2)
    query = {"package": "cli", "start": today - timedelta(days=2), "end": today}

    response = signed_in("member").get(reverse("analytics"), query)

    assert response.context["report"]["totals"]["downloads"] == 3
    assert response.context["package"].key == "cli"


def test_it_groups_per_month(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 3)
    count_downloads(acme, "cli", today.replace(day=1), 1)

    response = signed_in("member").get(reverse("analytics"), {"interval": "month"})

    assert response.context["report"]["series"]["downloads"][-1] >= 3


def test_it_explains_how_to_get_the_first_download(signed_in):
    page = signed_in("member").get(reverse("analytics")).content.decode()

    assert "No downloads in this period yet" in page
    assert 'id="series-chart"' not in page


def test_it_says_what_is_wrong_with_a_bad_range(signed_in):
    response = signed_in("member").get(
        reverse("analytics"), {"start": "2026-02-01", "end": "2026-01-01"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["start"]


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [("0001-01-01", "0001-12-31", "start"), ("2026-01-01", "9999-12-31", "end")],
)
def test_a_day_outside_the_years_analytics_cover_is_explained(signed_in, start, end, field):
    response = signed_in("member").get(reverse("analytics"), {"start": start, "end": end})

    assert response.status_code == 200
    assert response.context["form"].errors[field] == ["must be between 2000-01-01 and 2999-12-31"]
    assert "report" not in response.context


@pytest.mark.parametrize(
    ("start", "end", "interval"),
    [("2000-01-01", "2999-12-31", "day"), ("2025-01-01", "2026-12-31", "hour")],
)
def test_a_range_with_more_periods_than_a_chart_shows_asks_for_a_longer_interval(
    signed_in, start, end, interval
):
    query = {"start": start, "end": end, "interval": interval}
    response = signed_in("member").get(reverse("analytics"), query)

    assert response.status_code == 200
    [error] = response.context["form"].errors["interval"]
    assert f"by {interval} are more than the 10,000 points a chart shows" in error
    assert "report" not in response.context


def test_it_exports_the_raw_events_as_csv_and_ndjson(signed_in, acme, globex):
    now = datetime.now(UTC)
    partitions.ensure_months([partitions.month_start(now.date())])
    for organisation, package in ((acme, "cli"), (globex, "globex-secret-cli")):
        DownloadEvent.objects.create(
            id=f"event-{package}",
            timestamp=now,
            organisation_id=organisation.id,
            domain="d.test",
            rule_type="file-v1",
            package=package,
            method="GET",
            path="/x",
            status=302,
            download=True,
        )
    client = signed_in("member")

    csv = b"".join(client.get(reverse("analytics-export", args=["csv"])).streaming_content)
    ndjson = b"".join(client.get(reverse("analytics-export", args=["ndjson"])).streaming_content)

    assert csv.decode().splitlines()[0].startswith("id,timestamp")
    assert b"event-cli" in csv
    assert b"event-cli" in ndjson
    assert b"globex" not in csv + ndjson


def test_an_unknown_export_format_is_not_found(signed_in):
    assert signed_in("member").get(reverse("analytics-export", args=["xml"])).status_code == 404


def test_an_export_with_a_bad_parameter_says_which_and_why(signed_in):
    query = {"start": "2026-13-45", "country": "Germany"}
    response = signed_in("member").get(reverse("analytics-export", args=["csv"]), query)

    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain"
    assert response.content.decode().splitlines() == [
        "start: Enter a valid date.",
        "country: Enter a two-letter country code.",
    ]


@pytest.mark.parametrize(
    ("start", "end", "interval", "labels"),
    [
        (
            "2026-03-30",
            "2026-04-02",
            "day",
            ["2026-03-30", "2026-03-31", "2026-04-01", "2026-04-02"],
        ),
        ("2026-03-30", "2026-04-14", "week", ["2026-03-30", "2026-04-06", "2026-04-13"]),
        (
            "2026-01-31",
            "2026-04-01",
            "month",
            ["2026-01-01", "2026-02-01", "2026-03-01", "2026-04-01"],
        ),
    ],
)
def test_every_period_of_the_range_is_on_the_chart(signed_in, acme, start, end, interval, labels):
    response = signed_in("member").get(
        reverse("analytics"), {"start": start, "end": end, "interval": interval}
    )

    assert response.context["report"]["series"]["labels"] == labels
    assert response.context["report"]["series"]["downloads"] == [0] * len(labels)


def test_today_by_hour_has_24_points_and_no_unique_sources(signed_in, acme):
    today = datetime.now(UTC).date()
    response = signed_in("member").get(
        reverse("analytics"), {"start": today, "end": today, "interval": "hour"}
    )

    series = response.context["report"]["series"]
    assert len(series["labels"]) == 24
    assert series["labels"][0] == f"{today.isoformat()}T00:00Z"
    assert series["sources"] == []


def test_the_presets_link_to_their_periods_and_mark_the_one_shown(signed_in, acme):
    today = datetime.now(UTC).date()
    start = (today - timedelta(days=6)).isoformat()

    response = signed_in("member").get(
        reverse("analytics"), {"start": start, "end": today, "interval": "day", "package": "cli"}
    )

    presets = {p["label"]: p for p in response.context["presets"]}
    assert presets["7 days"]["current"] is True
    assert presets["30 days"]["current"] is False
    assert "package=cli" in presets["12 months"]["query"]
    assert "interval=month" in presets["12 months"]["query"]


def test_each_total_has_the_previous_period_and_the_change(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 9)
    count_downloads(acme, "cli", today - timedelta(days=7), 3)  # the 7 days before

    response = signed_in("member").get(
        reverse("analytics"), {"start": today - timedelta(days=6), "end": today}
    )

    report = response.context["report"]
    assert report["previous"]["downloads"] == {"count": 3, "change": "+200 %"}
    assert report["previous_period"] == (today - timedelta(days=13), today - timedelta(days=7))
    assert "+200 % · 3 the period before" in response.content.decode()


def test_the_organisation_view_ranks_its_packages_with_their_change(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 9)
    count_downloads(acme, "app-image", today, 4)
    count_downloads(acme, "app-image", today - timedelta(days=40), 8)
    client = signed_in("member")

    top = client.get(reverse("analytics")).context["report"]["top_packages"]
    narrowed = client.get(reverse("analytics"), {"package": "cli"}).context["report"]

    assert [(r["package"], r["count"], r["change"]) for r in top] == [
        ("cli", 9, "new"),
        ("app-image", 4, "−50 %"),
    ]
    assert "package=cli" in top[0]["query"]
    assert narrowed["top_packages"] is None


def test_the_chart_is_also_a_table(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 3)

    page = signed_in("member").get(reverse("analytics")).content.decode()
    table = page.split('<table id="series-table">')[1].split("</table>")[0]

    assert table.count("<tr>") == 31  # the head and 30 days
    assert f'<td>{today.isoformat()}</td><td class="number">3</td>' in table
