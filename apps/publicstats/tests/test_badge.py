"""The SVG badge of a package whose stats are published."""

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from apps.dashboard.tests.conftest import count_downloads
from apps.packages.models import Package

from .conftest import same_page

SVG = "{http://www.w3.org/2000/svg}"


def badge_url(key: str = "cli", organisation: str = "acme") -> str:
    return f"/stats/{organisation}/{key}.svg"


def parse(svg: bytes) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # noqa: S314 - our own answer, not untrusted input


def texts(svg: bytes) -> list[str]:
    root = parse(svg)
    return [element.text for element in root.iter(f"{SVG}text")]


def title(svg: bytes) -> str:
    return parse(svg).find(f"{SVG}title").text


def test_it_shows_the_downloads_of_the_last_30_days(client, published):
    published(downloads=1234)

    response = client.get(badge_url())

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml; charset=utf-8"
    assert texts(response.content) == ["downloads", "1.2k/month"]
    assert title(response.content) == "acme-cli: 1.2k downloads in the last 30 days"


@pytest.mark.parametrize("downloads", [0, 1, 9])
def test_a_count_under_k_reads_less_than_k(client, published, downloads):
    published(downloads=downloads)

    svg = client.get(badge_url()).content

    assert texts(svg) == ["downloads", "< 10/month"]
    assert b"&lt; 10/month" in svg


def test_k_is_a_setting(client, published, settings):
    settings.PUBLIC_STATS_MIN_COUNT = 50
    published(downloads=49)

    assert texts(client.get(badge_url()).content)[1] == "< 50/month"


def test_it_is_cacheable_and_revalidated_by_its_etag(client, published, settings):
    settings.PUBLIC_STATS_MAX_AGE = 900
    published(downloads=20)

    first = client.get(badge_url())
    again = client.get(badge_url(), HTTP_IF_NONE_MATCH=first["ETag"])

    assert "public" in first["Cache-Control"]
    assert "max-age=900" in first["Cache-Control"]
    assert first["ETag"].startswith('"')
    assert again.status_code == 304
    assert again.content == b""


def test_the_etag_changes_with_the_count(client, published, acme):
    published(downloads=20)
    before = client.get(badge_url())["ETag"]
    count_downloads(acme, "cli", datetime.now(UTC).date() - timedelta(days=1), 30)

    after = client.get(badge_url(), HTTP_IF_NONE_MATCH=before)

    assert after.status_code == 200
    assert after["ETag"] != before
    assert texts(after.content)[1] == "50/month"


def test_unpublished_and_unknown_packages_answer_the_same_404(client, acme):
    unpublished = client.get(badge_url("cli"))
    unknown = client.get(badge_url("no-such-package"))
    unknown_organisation = client.get(badge_url("cli", organisation="nobody"))

    assert unpublished.status_code == unknown.status_code == unknown_organisation.status_code == 404
    assert same_page(unpublished, unknown)
    assert same_page(unpublished, unknown_organisation)
    assert b"cli" not in unpublished.content


def test_another_organisations_package_of_that_key_is_not_shown(client, published, globex):
    published(downloads=100)
    Package.objects.filter(organisation=globex).update(public_stats=True)

    assert client.get(badge_url("globex-secret-cli")).status_code == 404
    assert client.get(badge_url("cli", organisation="globex")).status_code == 404


def test_its_text_is_escaped_for_xml(client, published):
    published(downloads=12, name='<script>alert("x")</script> & <b>')

    svg = client.get(badge_url()).content

    assert b"<script>" not in svg
    assert title(svg) == '<script>alert("x")</script> & <b>: 12 downloads in the last 30 days'


def test_a_long_name_does_not_widen_the_badge(client, published):
    published(downloads=12)
    short = client.get(badge_url())
    published(name="a-package-name-" * 13)

    long = client.get(badge_url())

    assert parse(long.content).get("width") == (parse(short.content).get("width"))
    assert title(long.content).startswith("a-package-name-" * 13)


def test_a_key_with_slashes_has_a_badge(client, published, acme):
    Package.objects.create(organisation=acme, key="acme/tool:x", name="tool", public_stats=True)

    assert client.get(badge_url("acme/tool:x")).status_code == 200


def test_only_get_and_head_are_answered(client, published):
    published()

    assert client.post(badge_url()).status_code == 405
