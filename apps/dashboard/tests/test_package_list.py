from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.packages.models import Package

from .conftest import count_downloads


def test_it_lists_packages_with_their_downloads_of_the_last_30_days(signed_in, acme):
    today = datetime.now(UTC).date()
    count_downloads(acme, "cli", today, 5)
    count_downloads(acme, "cli", today - timedelta(days=3), 2)
    count_downloads(acme, "cli", today - timedelta(days=45), 100)

    response = signed_in("member").get(reverse("home"))

    rows = {row["key"]: row for row in response.context["rows"]}
    assert rows["cli"]["downloads"] == 7
    assert rows["cli"]["last"] == today
    assert rows["app-image"]["downloads"] == 0
    assert rows["app-image"]["last"] is None
    assert 'aria-label="7 downloads in 30 days"' in response.content.decode()


def test_it_shows_the_default_domain(signed_in, acme):
    page = signed_in("member").get(reverse("home")).content.decode()

    assert "acme.gateway.localhost" in page
    assert "(default)" in page


def test_it_explains_how_to_start_when_there_are_no_packages(signed_in, acme):
    acme.packages.all().delete()

    page = signed_in("admin").get(reverse("home")).content.decode()

    assert "Create your first package" in page


def add_packages(organisation, count: int, prefix: str = "pkg") -> None:
    Package.objects.bulk_create(
        Package(
            organisation=organisation, key=f"{prefix}-{n:04}", name=f"{prefix} {n:04}", kind="file"
        )
        for n in range(count)
    )


def listed(client, **params) -> list[str]:
    response = client.get(reverse("home"), params)
    assert response.status_code == 200
    return [row["key"] for row in response.context["rows"]]


def test_it_searches_names_and_ids(signed_in, acme):
    add_packages(acme, 3, "tool")
    Package.objects.filter(key="tool-0001").update(name="The Hammer")
    client = signed_in("member")

    assert listed(client, q="hammer") == ["tool-0001"]
    assert listed(client, q="TOOL-000") == ["tool-0001", "tool-0000", "tool-0002"]
    assert "No package matches" in client.get(reverse("home"), {"q": "nothing"}).content.decode()


def test_it_orders_by_downloads_and_by_last_download(signed_in, acme):
    today = datetime.now(UTC).date()
    add_packages(acme, 3)
    count_downloads(acme, "pkg-0002", today - timedelta(days=9), 50)
    count_downloads(acme, "pkg-0001", today - timedelta(days=1), 5)
    client = signed_in("member")

    assert listed(client, sort="downloads")[:2] == ["pkg-0002", "pkg-0001"]
    assert listed(client, sort="last")[:2] == ["pkg-0001", "pkg-0002"]
    assert listed(client, sort="nonsense")[:1] == listed(client, sort="name")[:1]


def test_it_shows_fifty_packages_a_page(signed_in, acme):
    add_packages(acme, 60)
    client = signed_in("member")
    total = acme.packages.count()

    first, second = listed(client), listed(client, page=2)

    assert len(first) == 50
    assert len(second) == total - 50
    assert not set(first) & set(second)
    assert f"Page 1 of 2 ({total} packages)" in client.get(reverse("home")).content.decode()


@pytest.mark.parametrize("extra", [0, 200])
def test_its_number_of_queries_does_not_grow_with_the_packages(signed_in, acme, extra):
    client = signed_in("member")
    today = datetime.now(UTC).date()
    add_packages(acme, 5, "few")
    for n in range(5):
        count_downloads(acme, f"few-{n:04}", today, n + 1)
    client.get(reverse("home"))  # warm the session and caches
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    add_packages(acme, extra, "many")
    for n in range(0, extra, 10):
        count_downloads(acme, f"many-{n:04}", today, 1)

    with CaptureQueriesContext(connection) as many:
        client.get(reverse("home"))

    assert len(many) == len(few), [q["sql"][:150] for q in many.captured_queries][-8:]


def test_a_long_name_is_cut_and_shown_whole_on_hover(signed_in, acme):
    Package.objects.create(organisation=acme, key="long", name="x" * 190, kind="file")

    page = signed_in("member").get(reverse("home"), {"q": "long"}).content.decode()

    assert 'class="truncate"' in page
    assert f'title="{"x" * 190} (long)"' in page


def test_it_orders_by_kind_then_name_a_page_at_a_time(signed_in, acme):
    acme.packages.all().delete()
    for n, kind in enumerate(["python", "docker", "npm", "file"] * 15):
        Package.objects.create(
            organisation=acme, key=f"k{n:02}", name=f"{kind} {59 - n:02}", kind=kind
        )
    client = signed_in("member")

    first, second = listed(client, sort="kind"), listed(client, sort="kind", page=2)

    names = [Package.objects.get(key=key).name for key in first + second]
    assert [name.split()[0] for name in names] == ["docker"] * 15 + ["file"] * 15 + ["npm"] * 15 + [
        "python"
    ] * 15
    assert names[:2] == ["docker 02", "docker 06"]
    assert "Docker image" in client.get(reverse("home"), {"sort": "kind"}).content.decode()


def test_ordered_by_name_case_does_not_matter(signed_in, acme):
    acme.packages.all().delete()
    for key, name in [("b", "beta"), ("a", "Alpha"), ("c", "Gamma"), ("d", "delta")]:
        Package.objects.create(organisation=acme, key=key, name=name, kind="file")

    assert listed(signed_in("member"), sort="name") == ["a", "b", "d", "c"]
