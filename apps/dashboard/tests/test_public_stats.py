"""Publishing a package's download count from its page (off by default)."""

from django.urls import reverse

from apps.packages.models import Package, Revision


def cli(organisation) -> Package:
    return Package.objects.get(organisation=organisation, key="cli")


def toggle(client, package: Package, value: str):
    return client.post(
        reverse("package-public-stats", args=[package.id]), {"public_stats": value}, follow=True
    )


def test_stats_are_not_published_by_default(signed_in, acme, client):
    page = signed_in("member").get(reverse("package", args=[cli(acme).id])).content.decode()

    assert cli(acme).public_stats is False
    assert "Not published" in page
    assert client.get("/stats/acme/cli.svg").status_code == 404


def test_an_admin_publishes_and_the_page_shows_the_badge_and_markdown(signed_in, acme):
    response = toggle(signed_in("admin"), cli(acme), "on")

    page = response.content.decode()
    assert cli(acme).public_stats is True
    assert "Anyone can now see the download count of acme-cli." in page
    assert 'src="http://testserver/stats/acme/cli.svg?downloads=0"' in page  # new with the count
    assert "[![downloads](http://testserver/stats/acme/cli.svg)]" in page
    assert "(http://testserver/stats/acme/cli/)" in page
    revision = Revision.objects.filter(object_type="package").first()
    assert (revision.before["public_stats"], revision.after["public_stats"]) == (False, True)


def test_publishing_is_rolled_back_like_any_change(signed_in, acme):
    client = signed_in("admin")
    toggle(client, cli(acme), "on")

    client.post(reverse("rollback", args=[Revision.objects.first().id]))

    assert cli(acme).public_stats is False


def test_an_admin_stops_publishing(signed_in, acme):
    Package.objects.filter(id=cli(acme).id).update(public_stats=True)

    toggle(signed_in("admin"), cli(acme), "off")

    assert cli(acme).public_stats is False


def test_a_member_may_not_publish(signed_in, acme):
    response = toggle(signed_in("member"), cli(acme), "on")

    assert response.status_code == 403
    assert cli(acme).public_stats is False


def test_another_tenant_cannot_publish_a_package(signed_in, globex):
    secret = Package.objects.get(organisation=globex)

    response = toggle(signed_in("owner"), secret, "on")

    assert response.status_code == 404
    assert Package.objects.get(id=secret.id).public_stats is False


def test_a_bad_value_is_refused_naming_the_field(signed_in, acme):
    response = toggle(signed_in("admin"), cli(acme), "maybe")

    assert "public_stats must be on or off" in response.content.decode()
    assert cli(acme).public_stats is False
