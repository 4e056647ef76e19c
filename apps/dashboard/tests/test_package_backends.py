"""The package page lists each rule's backends with their health."""

from django.urls import reverse

from apps.packages import services
from apps.packages.models import PrimaryHealth


def test_it_lists_the_backends_in_order_with_their_health(signed_in, acme):
    package = acme.packages.get(key="app-image")
    rule = package.rules.get()
    services.add_backend(rule, services.SYSTEM, {"registry": "registry-1.docker.io"})
    services.add_backend(rule, services.SYSTEM, {"registry": "quay.io"}, weight=10)
    PrimaryHealth.objects.create(rule=rule, healthy=False, last_error="GET /v2/ answered 503")

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    section = page[page.index("<h2>Backends</h2>") :]
    assert section.index("ghcr.io") < section.index("registry-1.docker.io")
    assert section.index("registry-1.docker.io") < section.index("quay.io")
    assert "GET /v2/ answered 503" in section
    assert "failover only" in section
    assert "10 %" in section


def test_packages_without_alternates_show_no_backends_section(signed_in, acme):
    package = acme.packages.get(key="cli")

    page = signed_in("member").get(reverse("package", args=[package.id])).content.decode()

    assert "<h2>Backends</h2>" not in page
