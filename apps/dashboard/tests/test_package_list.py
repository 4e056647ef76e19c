from datetime import UTC, datetime, timedelta

from django.urls import reverse

from .conftest import count_downloads


def test_it_lists_packages_with_their_downloads_of_the_last_30_days(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 5)
    count_downloads(acme, "cli", today - timedelta(days=3), 2)
    count_downloads(acme, "cli", today - timedelta(days=45), 100)

    response = signed_in("member").get(reverse("home"))

    rows = {row["package"].key: row for row in response.context["rows"]}
    assert rows["cli"]["total"] == 7
    assert rows["app-image"]["total"] == 0
    assert 'aria-label="7 downloads in 30 days"' in response.content.decode()


def test_it_shows_the_default_domain(signed_in, acme):
    page = signed_in("member").get(reverse("home")).content.decode()

    assert "acme.gateway.localhost" in page
    assert "(default)" in page


def test_it_explains_how_to_start_when_there_are_no_packages(signed_in, acme):
    acme.packages.all().delete()

    page = signed_in("admin").get(reverse("home")).content.decode()

    assert "Create your first package" in page
