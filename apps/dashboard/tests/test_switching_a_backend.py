import pytest
from django.urls import reverse

from .conftest import edit_form

NEW_URL = "https://mirror.example/cli/{version}/{file}"


@pytest.fixture
def rule(acme):
    return acme.packages.get(key="cli").rules.get()


def test_it_shows_what_changes_before_saving(signed_in, rule):
    response = signed_in("admin").post(
        reverse("rule-edit", args=[rule.id]), edit_form(rule, outgoing_url=NEW_URL)
    )

    changes = [(c.field, c.before, c.after) for c in response.context["changes"]]
    assert changes == [("outgoing-url", rule.config["outgoing-url"], NEW_URL)]
    rule.refresh_from_db()
    assert rule.config["outgoing-url"] != NEW_URL


def test_it_saves_the_new_backend_when_confirmed(signed_in, rule):
    response = signed_in("admin").post(
        reverse("rule-edit", args=[rule.id]), edit_form(rule, outgoing_url=NEW_URL, confirm="1")
    )

    rule.refresh_from_db()
    assert response.status_code == 302
    assert rule.config["outgoing-url"] == NEW_URL


def test_it_refuses_an_invalid_backend_with_an_error_next_to_the_field(signed_in, rule):
    response = signed_in("admin").post(
        reverse("rule-edit", args=[rule.id]), edit_form(rule, outgoing_url="not a url", confirm="1")
    )

    assert response.context["form"].errors["outgoing_url"]
    rule.refresh_from_db()
    assert rule.config["outgoing-url"] != "not a url"
