"""A package page shows its downloads: per day, beside the previous period, by version
and client."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from apps.dashboard.stats import change

from .conftest import count_downloads


def package_page(client, organisation, key: str):
    package = organisation.packages.get(key=key)
    return client.get(reverse("package", args=[package.id]))


def test_it_counts_the_last_30_days_beside_the_30_before(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 6, version="1.2.0", client="curl")
    count_downloads(acme, "cli", today - timedelta(days=29), 4, version="1.1.0", client="pip")
    count_downloads(acme, "cli", today - timedelta(days=35), 5)
    count_downloads(acme, "app-image", today, 100)

    response = package_page(signed_in("member"), acme, "cli")
    downloads = response.context["downloads"]

    assert (downloads["total"], downloads["previous"], downloads["change"]) == (10, 5, "+100 %")
    assert len(downloads["series"]["downloads"]) == 30
    assert downloads["series"]["downloads"][0] == 4
    assert downloads["series"]["downloads"][-1] == 6
    assert sum(downloads["series"]["downloads"][1:-1]) == 0
    assert [row["value"] for row in downloads["versions"]] == ["1.2.0", "1.1.0"]
    assert [row["value"] for row in downloads["clients"]] == ["curl", "pip"]
    assert 'id="package-series"' in response.content.decode()


def test_a_package_without_downloads_says_how_to_get_some(signed_in, acme):
    page = package_page(signed_in("member"), acme, "cli").content.decode()

    assert "No downloads in the last 30 days" in page
    assert 'id="package-series"' not in page


@pytest.mark.parametrize(
    ("current", "previous", "shown"),
    [(10, 5, "+100 %"), (5, 10, "−50 %"), (3, 0, "new"), (0, 0, "no change"), (7, 7, "no change")],
)
def test_a_change_reads_as_a_percentage(current, previous, shown):
    assert change(current, previous) == shown
