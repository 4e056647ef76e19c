"""The audit log 50 changes a page, filtered by package, in a bounded number
of queries however many changes there are."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.packages import services
from apps.packages.models import Package, Revision


def rename(package: Package, times: int) -> None:
    for n in range(times):
        services.update_package(package, services.SYSTEM, name=f"{package.key} {n}")


def shown(client, **params) -> list[Revision]:
    response = client.get(reverse("audit-log"), params)
    assert response.status_code == 200
    return list(response.context["revisions"])


def test_it_shows_50_changes_a_page_newest_first(signed_in, acme):
    rename(acme.packages.get(key="cli"), 60)
    total = acme.revisions.count()
    client = signed_in("member")

    first, last = shown(client), shown(client, page=2)

    assert len(first) == 50
    assert len(last) == total - 50
    assert first[0] == acme.revisions.order_by("-id").first()
    assert first[-1].id > last[0].id
    page = client.get(reverse("audit-log")).content.decode()
    assert f"Page 1 of 2 ({total} changes)" in page
    assert 'href="?page=2" rel="next"' in page


def test_it_filters_by_package_with_its_deleted_rules(signed_in, acme):
    cli = acme.packages.get(key="cli")
    rule = cli.rules.get()
    services.update_rule(rule, services.SYSTEM, {"outgoing-url": "https://new.example/{file}"})
    services.delete_rule(rule, services.SYSTEM)
    rename(cli, 2)
    rename(acme.packages.get(key="app-image"), 3)

    listed = shown(signed_in("member"), package="cli")

    assert [(r.action, r.object_type) for r in listed] == [
        ("update", "package"),
        ("update", "package"),
        ("delete", "rule"),
        ("update", "rule"),
    ]


def test_the_filter_is_kept_across_pages(signed_in, acme):
    rename(acme.packages.get(key="cli"), 55)
    rename(acme.packages.get(key="app-image"), 5)
    client = signed_in("member")

    page = client.get(reverse("audit-log"), {"package": "cli"}).content.decode()

    assert 'href="?package=cli&amp;page=2"' in page
    assert len(shown(client, package="cli", page=2)) == 5


def test_an_unknown_package_has_no_changes(signed_in, acme):
    page = signed_in("member").get(reverse("audit-log"), {"package": "nothing"}).content.decode()

    assert "No change recorded for the package “nothing”." in page


def test_another_organisations_changes_are_never_shown(signed_in, acme, globex):
    rename(globex.packages.get(), 3)

    listed = shown(signed_in("member"), package="globex-secret-cli")

    assert listed == []


def queries_for(client, path: str, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path, params).status_code == 200
    return len(queries)


def test_its_queries_do_not_grow_with_the_changes(signed_in, acme):
    client = signed_in("member")
    cli = acme.packages.get(key="cli")
    rename(cli, 5)
    # A session's first request also records it (for the sessions list).
    queries_for(client, reverse("audit-log"))
    few = queries_for(client, reverse("audit-log"))
    few_filtered = queries_for(client, reverse("audit-log"), {"package": "cli"})

    rename(cli, 80)
    services.rollback(acme.revisions.first(), services.SYSTEM)

    assert queries_for(client, reverse("audit-log")) == few
    assert queries_for(client, reverse("audit-log"), {"package": "cli"}) == few_filtered


def test_a_package_page_shows_its_newest_changes_and_links_to_them_all(signed_in, acme):
    cli = acme.packages.get(key="cli")
    rename(cli, 12)

    response = signed_in("member").get(reverse("package", args=[cli.id]))

    assert len(response.context["history"]["revisions"]) == 10
    assert 'href="/organisation/audit-log/?package=cli">Every change in the audit log' in (
        response.content.decode()
    )
