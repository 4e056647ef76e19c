"""More networks than a day's summary keeps: a finished day lists its 20
networks with the most events and sums the rest as one "(other)" value, and
the analytics API and the dashboard answer with that, totals unchanged."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from apps.analytics import summaries
from apps.analytics.tests.conftest import ingest, make_event, use_mmdb

TODAY = datetime.now(UTC).date()
YESTERDAY = TODAY - timedelta(days=1)
# 25 networks, the nth with 6 + n downloads: the 20 largest have 30 down to
# 11, the other five 6 + 7 + 8 + 9 + 10 = 40 between them.
NETWORKS = {f"10.0.{n}.0/24": ("DE", f"Network {n:02d}") for n in range(25)}
LARGEST = [(f"Network {n:02d}", 6 + n) for n in range(24, 4, -1)]
OTHERS = 6 + 7 + 8 + 9 + 10
ALL = sum(6 + n for n in range(25))


@pytest.fixture
def many_networks(acme, tmp_path, settings):
    use_mmdb(tmp_path / "networks.mmdb", settings, NETWORKS)
    ingest(
        [
            make_event(
                organisation=acme.id,
                timestamp=f"{YESTERDAY}T10:00:00+00:00",
                client_ip=f"10.0.{n}.{download + 1}",
            )
            for n in range(25)
            for download in range(6 + n)
        ]
    )


def top_networks(api, **filters) -> list[tuple[str, int]]:
    response = api.get(
        "/api/v1/analytics/top/",
        {"dimension": "asn_org", "start": YESTERDAY, "end": YESTERDAY, "limit": 100, **filters},
    )
    assert response.status_code == 200, response.content
    return [(row["value"], row["count"]) for row in response.json()["results"]]


def downloads(api, **filters) -> int:
    day = {"start": YESTERDAY, "end": YESTERDAY}
    response = api.get("/api/v1/analytics/totals/", {**day, **filters})
    return response.json()["downloads"]


def test_a_summarised_day_keeps_its_20_largest_networks_and_sums_the_rest(read_api, many_networks):
    assert len(top_networks(read_api)) == 25  # read live until summarised

    assert summaries.summarise_due(TODAY) == 1

    networks = top_networks(read_api)
    assert networks == [("(other)", OTHERS), *LARGEST]
    assert sum(count for _, count in networks) == downloads(read_api) == ALL


@pytest.mark.parametrize("filters", [{"country": "DE"}, {"client": "curl"}, {"version": "1.0"}])
def test_filtered_summaries_cut_their_networks_the_same_way(read_api, many_networks, filters):
    summaries.summarise_due(TODAY)

    networks = top_networks(read_api, **filters)

    assert networks == [("(other)", OTHERS), *LARGEST]
    assert sum(count for _, count in networks) == downloads(read_api, **filters) == ALL


def test_the_dashboard_shows_the_sum_of_the_smaller_networks_as_others(
    owner_session, many_networks
):
    summaries.summarise_due(TODAY)

    response = owner_session.get(reverse("analytics"), {"start": YESTERDAY, "end": YESTERDAY})

    rows = {b["dimension"]: b["rows"] for b in response.context["report"]["breakdowns"]}
    shown = [(row["label"], row["count"]) for row in rows["asn_org"]]
    assert shown == [("others", OTHERS), *LARGEST[:9]]
