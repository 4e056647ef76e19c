"""The read-only public page of a package whose stats are published."""

from datetime import UTC, datetime, timedelta

from apps.dashboard.tests.conftest import count_downloads

from .conftest import same_page


def test_it_shows_the_last_30_days_and_each_month(client, published, acme):
    published(downloads=25)
    count_downloads(acme, "cli", datetime.now(UTC).date() - timedelta(days=200), 3)

    response = client.get("/stats/acme/cli/")

    page = response.content.decode()
    assert response.status_code == 200
    assert response.context["last_days"] == "25"
    assert response.context["last_year"] == "28"
    figures = [figure for _month, figure in response.context["months"]]
    assert len(figures) == 12
    assert figures[-1] == "25"
    assert figures.count("< 10") == 11  # the month with 3 downloads too
    assert 'id="public-last-days">25<' in page
    assert 'src="/stats/acme/cli.svg"' in page


def test_it_is_readable_signed_out_and_escapes_the_name(client, published):
    published(name="<i>acme</i>")

    page = client.get("/stats/acme/cli/").content.decode()

    assert "&lt;i&gt;acme&lt;/i&gt;" in page
    assert "<i>acme</i>" not in page


def test_unpublished_and_unknown_packages_answer_the_same_404(client, acme):
    unpublished = client.get("/stats/acme/cli/")
    unknown = client.get("/stats/acme/nothing/")

    assert unpublished.status_code == unknown.status_code == 404
    assert same_page(unpublished, unknown)
