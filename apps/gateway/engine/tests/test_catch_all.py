"""catch-all-v1: whole-domain forward (reference §2.2, §6, §11; decisions §2)."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine import rules
from apps.gateway.engine.files import CatchAllRule
from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Redirect, Respond
from apps.gateway.engine.rules import ORDER_CATCH_ALL, FieldError


def rule(target: str | None = "downloads.test.sh") -> CatchAllRule:
    return CatchAllRule(
        domain="downloads.test.io", package_id="pkg-3", redirect_target_domain=target, ref="r3"
    )


def request(target: str, method: str = "GET") -> Request:
    path, mark, query = target.partition("?")
    return Request(method, "downloads.test.io", path, query if mark else None)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        pytest.param("/hello%20world", "https://downloads.test.sh/hello%20world", id="golden-1"),
        pytest.param(
            "/search?q=hello%20world",
            "https://downloads.test.sh/search?q=hello%20world",
            id="golden-2",
        ),
        pytest.param("/a+b", "https://downloads.test.sh/a%2Bb", id="plus-encoded"),
        pytest.param("/c:d@e", "https://downloads.test.sh/c%3Ad%40e", id="colon-at-encoded"),
        pytest.param("/a%2Fb", "https://downloads.test.sh/a%2Fb", id="encoded-slash-kept"),
        pytest.param("/caf%c3%a9", "https://downloads.test.sh/caf%C3%A9", id="upper-case-hex"),
        pytest.param("/%7Euser", "https://downloads.test.sh/~user", id="unreserved-decoded"),
        pytest.param("/s?q=a+b", "https://downloads.test.sh/s?q=a%20b", id="plus-in-query-space"),
        pytest.param("/s?a=1;b=2", "https://downloads.test.sh/s?a=1&b=2", id="semicolon-query"),
        pytest.param(
            "/s?a=1&a=2&flag",
            "https://downloads.test.sh/s?a=1&a=2&flag",
            id="duplicates-and-bare-keys-kept",
        ),
        pytest.param("/s?", "https://downloads.test.sh/s", id="bare-question-mark"),
        pytest.param("/dir/", "https://downloads.test.sh/dir/", id="trailing-slash-kept"),
        pytest.param("/", "https://downloads.test.sh", id="root-has-no-slash"),
        pytest.param(
            "/v2/library/x/manifests/1",
            "https://downloads.test.sh/v2/library/x/manifests/1",
            id="any-path",
        ),
    ],
)
def test_it_redirects_to_the_same_path_on_the_target_domain(target, expected):
    outcome = rule().match(request(target))
    assert outcome.response == Redirect(expected, status=307)


def test_it_uses_a_target_path_as_a_prefix():
    outcome = rule("example.com/base").match(request("/a/b"))
    assert outcome.response == Redirect("https://example.com/base/a/b")


def test_it_records_a_file_capture_with_the_location():
    outcome = rule().match(request("/hello%20world"))
    assert outcome.rule_type == "catch-all-v1"
    assert outcome.rule_ref == "r3"
    [capture] = outcome.captures
    assert (capture.kind, capture.package) == ("file", "pkg-3")
    assert capture.fields == {
        "absolute_url": "https://downloads.test.sh/hello%20world",
        "variables": {},
        "body_variables": {},
    }


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"])
def test_it_answers_every_method(method):
    assert rule().match(request("/x", method)).response == Redirect("https://downloads.test.sh/x")


def test_it_answers_200_without_a_target():
    outcome = rule(None).match(request("/anything?x=1", "POST"))
    assert outcome.response == Respond(200)
    assert outcome.captures[0].fields == {
        "absolute_url": None,
        "variables": {},
        "body_variables": {},
    }


def test_it_sorts_after_every_other_rule_type():
    others = [value for name, value in vars(rules).items() if name.startswith("ORDER_")]
    assert CatchAllRule.order == ORDER_CATCH_ALL == max(others)
    assert others.count(ORDER_CATCH_ALL) == 1


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("", id="empty"),
        pytest.param("evil.com@good.com", id="userinfo"),
        pytest.param("good.com:bad", id="bad-port"),
        pytest.param("good.com?x=", id="query"),
        pytest.param("good.com#x", id="fragment"),
        pytest.param("good.com/a b", id="space"),
        pytest.param("good.com\r\nX-Evil: 1", id="header-injection"),
        pytest.param("/path-only", id="no-host"),
    ],
)
def test_it_rejects_a_target_domain_that_is_not_a_host(target):
    with pytest.raises(FieldError) as error:
        rule(target)
    assert error.value.field == "redirect-target-domain"


@pytest.mark.parametrize("target", ["downloads.test.sh", "host:8443", "example.com/base/"])
def test_it_accepts_a_host_with_port_or_path_prefix(target):
    assert rule(target).redirect_target_domain == target


@pytest.mark.parametrize(
    "manifest",
    [
        {
            "type": "catch-all-v1",
            "domain": "d",
            "package-id": "p",
            "redirect-target-domain": "t.example",
            "package-name": "n",
            "owner": "o",
        },
        {"type": "catch-all-v1", "domain": "d", "package-id": "p"},
    ],
    ids=["full", "no-target"],
)
def test_it_round_trips_the_manifest_in_field_order(manifest):
    parsed = CatchAllRule.from_manifest({**manifest, "unknown": 1})
    assert list(parsed.to_manifest().items()) == list(manifest.items())
    assert CatchAllRule.from_manifest(parsed.to_manifest()) == parsed


def test_it_requires_a_package_id():
    with pytest.raises(FieldError) as error:
        CatchAllRule.from_manifest({"type": "catch-all-v1", "domain": "d"})
    assert error.value.field == "package-id"


@given(
    path=st.text(alphabet=string.printable + "\u00e9", max_size=60).map(lambda t: "/" + t),
    query=st.none() | st.text(alphabet=string.printable, max_size=30),
)
def test_a_request_can_never_change_the_redirect_host(path, query):
    location = rule("dl.example.com").match(Request("GET", "d", path, query)).response.location
    assert urlsplit(location).hostname == "dl.example.com"
    assert location.isascii()
    assert not any(ord(char) < 0x21 or char == "\x7f" for char in location)
