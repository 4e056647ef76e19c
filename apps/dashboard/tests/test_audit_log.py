from django.urls import reverse

from apps.packages import services


def test_it_lists_every_revision_with_who_made_it(signed_in, acme):
    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")

    page = signed_in("member").get(reverse("audit-log")).content.decode()

    assert "create domain dl.acme.test" in page
    assert "system" in page


def test_a_rule_change_names_its_package_and_domain(signed_in, acme):
    rule = acme.packages.get(key="cli").rules.get()
    services.update_rule(rule, services.SYSTEM, {"outgoing-url": "https://new.example/{file}"})

    page = signed_in("member").get(reverse("audit-log")).content.decode()

    assert f"update rule {rule.id} of cli on {rule.domain}" in page


def test_every_page_names_its_icon_and_the_icon_exists(signed_in):
    from scarf.testing import BASE_DIR

    page = signed_in("member").get(reverse("audit-log")).content.decode()

    assert '<link rel="icon" href="/static/favicon.svg"' in page
    assert (BASE_DIR / "static" / "favicon.svg").is_file()


def test_favicon_ico_is_the_icon_for_pages_that_name_none(client):
    from scarf.testing import BASE_DIR

    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert b"".join(response.streaming_content) == (BASE_DIR / "static/favicon.svg").read_bytes()


def test_a_member_sees_no_rollback_button(signed_in, acme):
    services.claim_domain(acme, services.SYSTEM, "dl.acme.test")

    page = signed_in("member").get(reverse("audit-log")).content.decode()

    assert "Roll back" not in page
