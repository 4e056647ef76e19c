"""Every resource answers HEAD as it answers GET (RFC 9110 §9.3.2: headers
without the body) and OPTIONS with what it allows."""

import pytest

from apps.api.urls import router

LISTS = [f"/api/v1/{prefix}/" for prefix, _viewset, _name in router.registry]


@pytest.mark.parametrize("path", [*LISTS, "/api/v1/packages/{id}/"])
def test_head_answers_as_get_without_a_body(api, acme, path):
    path = path.format(id=acme.packages.get(key="cli").id)

    got, head = api.get(path), api.head(path)

    assert got.status_code == 200, got.content
    assert head.status_code == 200, head.content
    assert head.content == b""
    assert head["Content-Type"] == got["Content-Type"]


@pytest.mark.parametrize("path", LISTS)
def test_options_says_which_methods_are_allowed(api, path):
    response = api.options(path)

    assert response.status_code == 200, response.content
    assert {"GET", "HEAD", "OPTIONS"} <= set(response["Allow"].split(", "))
    assert "PUT" not in response["Allow"]
