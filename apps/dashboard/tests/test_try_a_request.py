from django.urls import reverse


def test_it_shows_where_a_download_would_go(signed_in):
    response = signed_in("member").get(
        reverse("try-request"),
        {"domain": "get.acme.test", "method": "GET", "path": "/cli/1.2.3/cli.tgz"},
        headers={"HX-Request": "true"},
    )

    page = response.content.decode()
    assert "https://github.com/acme/cli/releases/download/v1.2.3/cli.tgz" in page
    assert "file of cli" in page


def test_it_works_without_javascript_too(signed_in):
    response = signed_in("member").get(
        reverse("try-request"), {"domain": "get.acme.test", "method": "GET", "path": "/nothing"}
    )

    assert response.status_code == 200
    assert "<html" in response.content.decode()


def test_another_organisations_domain_is_not_a_choice(signed_in, globex):
    response = signed_in("member").get(
        reverse("try-request"), {"domain": "get.globex.test", "method": "GET", "path": "/x"}
    )

    assert response.context["try_form"].errors["domain"]
    assert "globex.example" not in response.content.decode()
