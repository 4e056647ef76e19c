"""file-v1: URL-template rules (reference §2.2, §3.3, §4, §11, §12; decisions §2)."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.files import FileTemplateRule, rewrite_query
from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Redirect, Respond
from apps.gateway.engine.rules import ORDER_FILE_V1, FieldError


def rule(incoming: str, outgoing: str | None = None, **extra) -> FileTemplateRule:
    return FileTemplateRule(
        domain="files.example.com",
        incoming_path=incoming,
        outgoing_url=outgoing,
        package_id="pkg-1",
        ref="r1",
        **extra,
    )


def request(target: str, method: str = "GET", body: bytes = b"") -> Request:
    path, mark, query = target.partition("?")
    return Request(
        method=method,
        host="files.example.com",
        raw_path=path,
        raw_query=query if mark else None,
        read_body=lambda limit: body[:limit],
    )


def location(incoming: str, outgoing: str | None, target: str) -> str | None:
    """The Location answered, "200" for a plain 200, or None when declined."""
    outcome = rule(incoming, outgoing).match(request(target))
    if outcome is None:
        return None
    if isinstance(outcome.response, Respond):
        return str(outcome.response.status)
    return outcome.response.location


@pytest.mark.parametrize(
    ("incoming", "outgoing", "target", "expected"),
    [
        pytest.param(
            "/{tool}-{os}-{arch}",
            "https://dl/{tool}/{os}/{arch}",
            "/cli-linux-arm64-musl",
            "https://dl/cli/linux/arm64-musl",
            id="leftmost-shortest",
        ),
        pytest.param(
            "/{package}-{version}.{ext}",
            "https://dl/{package}/{version}/{ext}",
            "/minikube-1.0.tar.gz",
            "https://dl/minikube/1/0.tar.gz",
            id="minikube",
        ),
        pytest.param(
            "/{package}-{os}-{arch}",
            "https://dl/{package}",
            "/minikube",
            None,
            id="no-match-declines",
        ),
        pytest.param(
            "/{a}/{b}",
            "https://datausa.io/{a}/{b}",
            "/api/data",
            "https://datausa.io/api/data",
            id="golden-variables-4",
        ),
        pytest.param(
            "/data?drilldowns={drilldowns}&measures={measures}",
            "https://datausa.io/api/data?drilldowns={drilldowns}&measures={measures}",
            "/data?drilldowns=Nation&measures=Population",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population",
            id="golden-variables-1-query-captured",
        ),
        pytest.param(
            "/{drilldowns}?measures={measures}",
            "https://datausa.io/api/data?drilldowns={drilldowns}&measures={measures}",
            "/Nation?measures=Population",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population",
            id="golden-variables-2-path-and-query",
        ),
        pytest.param(
            "/data?drilldowns={drilldowns}&measures={measures}",
            "https://datausa.io/api/data?drilldowns={drilldowns}&measures={measures}",
            "/data?measures=Population&drilldowns=Nation",
            None,
            id="golden-variables-3-query-order-matters",
        ),
        pytest.param(
            "/data?v={v}",
            "https://dl/{v}",
            "/data?v=1&extra=2",
            None,
            id="captured-query-rejects-extras",
        ),
        pytest.param(
            "/data/{x}",
            "https://datausa.io/api/data",
            "/data/xxx?drilldowns=Nation&measures=Population",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population",
            id="golden-without-variable-2-unused-variable",
        ),
        pytest.param(
            "/some-nice-path/very-nice/{+variable}",
            "https://output.com/{variable}",
            "/some-nice-path/very-nice/really+nice",
            "https://output.com/really%2Bnice",
            id="golden-escaping",
        ),
        pytest.param(
            "/{+path}",
            "https://output.com/{+path}",
            "/some-nice-path/very-nice/really+nice",
            "https://output.com/some-nice-path/very-nice/really+nice",
            id="golden-escaping-1",
        ),
        pytest.param(
            "/{+path}",
            "https://output.com/{+path}",
            "/a%2Fb",
            "https://output.com/a/b",
            id="reserved-round-trip-decodes-slash",
        ),
        pytest.param(
            "/get/{f}",
            "https://dl/{f}",
            "/get/my%20file",
            "https://dl/my%20file",
            id="variables-re-encoded",
        ),
        pytest.param(
            "/get/{f}",
            "https://dl/{+f}",
            "/get/100%25",
            "https://dl/100%25",
            id="percent-always-encoded",
        ),
        pytest.param("/get/{f}", "https://dl/f", "/get/", "https://dl/f", id="empty-value"),
        pytest.param(
            "/get/{f}", "https://dl/{f}", "/get/report,", "https://dl/report", id="trailing-comma"
        ),
        pytest.param("/get/{f}", "https://dl/{f}", "/get/a/b", None, id="slash-not-matched"),
        pytest.param(
            "/get/{f}", "https://dl/{missing}", "/get/x", None, id="unsatisfiable-outgoing"
        ),
        pytest.param("/get/{f*}", "https://dl/x", "/get/x", None, id="explode-never-matches"),
        pytest.param(
            "/dl{?version}",
            "https://dl/{version}",
            "/dl?version=2",
            "https://dl/2?version=2",
            id="query-operator",
        ),
        pytest.param("/dl{?version}", "https://dl/x", "/dl", None, id="unbound-variables-decline"),
        pytest.param(
            "/install",
            "https://raw.example/install.sh",
            "/install",
            "https://raw.example/install.sh",
            id="literal",
        ),
        pytest.param(
            "/install",
            "https://raw.example/install.sh",
            "/install/",
            None,
            id="literal-trailing-slash-counts",
        ),
        pytest.param(
            "/install",
            "https://raw.example/install.sh",
            "/Install",
            None,
            id="literal-case-sensitive",
        ),
        pytest.param(
            "/data",
            "https://datausa.io/api/data",
            "/data?drilldowns=Nation&measures=Population",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population",
            id="golden-without-variable-forwards-query",
        ),
        pytest.param(
            "/data",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population",
            "/data?",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population",
            id="golden-without-variable-3-bare-question-mark",
        ),
        pytest.param(
            "/data?drilldowns=Nation&measures=Population",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population",
            "/data?measures=Population&drilldowns=Nation&x=1",
            "https://datausa.io/api/data?drilldowns=Nation&measures=Population&x=1",
            id="literal-query-any-order-extras-allowed",
        ),
        pytest.param(
            "/data?q=a+b",
            "https://dl/x",
            "/data?q=a%20b",
            "https://dl/x?q=a%20b",
            id="literal-query-form-decoded",
        ),
        pytest.param("/data?q=1", "https://dl/x", "/data?q=2", None, id="literal-query-differs"),
        pytest.param("/data?q=1", "https://dl/x", "/data", None, id="literal-query-missing"),
        pytest.param(
            "/data", "https://dl/{x}", "/data", None, id="literal-with-unsatisfiable-outgoing"
        ),
        pytest.param(
            "/caf\u00e9",
            "https://dl/x",
            "/caf%C3%A9",
            "https://dl/x",
            id="non-ascii-literal-encoded",
        ),
        pytest.param(
            "/some-nice-path", None, "/some-nice-path", "200", id="golden-no-outgoing-url"
        ),
        pytest.param(
            "/some-nice-path",
            None,
            "/some-bad-path",
            None,
            id="golden-no-outgoing-url-and-no-match",
        ),
        pytest.param(
            "/some-nice-path/{var1}",
            None,
            "/some-nice-path",
            None,
            id="golden-no-outgoing-url-with-variables-and-no-match",
        ),
        pytest.param(
            "/some-nice-path/{somevar}",
            None,
            "/some-nice-path/very-nice",
            "200",
            id="golden-variables-and-no-outgoing-url",
        ),
    ],
)
def test_it_decides_like_the_reference(incoming, outgoing, target, expected):
    assert location(incoming, outgoing, target) == expected


def test_it_redirects_with_307_and_records_the_capture():
    outcome = rule("/{a}/{b}", "https://datausa.io/{a}/{b}").match(request("/api/data"))
    assert outcome.response == Redirect("https://datausa.io/api/data", status=307)
    assert outcome.rule_type == "file-v1"
    assert outcome.rule_ref == "r1"
    [capture] = outcome.captures
    assert capture.kind == "file"
    assert capture.package == "pkg-1"
    assert capture.fields == {
        "absolute_url": "https://datausa.io/api/data",
        "variables": {"a": "api", "b": "data"},
        "body_variables": {},
    }


def test_it_answers_200_and_records_variables_without_outgoing_url():
    outcome = rule("/some-nice-path/{somevar}/{somevar2}").match(
        request("/some-nice-path/very-nice/really-nice")
    )
    assert outcome.response == Respond(200)
    assert outcome.captures[0].fields == {
        "absolute_url": None,
        "variables": {"somevar": "very-nice", "somevar2": "really-nice"},
        "body_variables": {},
    }


def test_it_records_an_unused_incoming_variable():
    outcome = rule("/data/{x}", "https://datausa.io/api/data").match(request("/data/xxx"))
    assert outcome.captures[0].fields["variables"] == {"x": "xxx"}


def test_it_records_the_final_location_with_the_forwarded_query():
    outcome = rule("/data", "https://dl/x?a=1").match(request("/data?b=2"))
    assert outcome.captures[0].fields["absolute_url"] == "https://dl/x?a=1&b=2"


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"])
def test_it_matches_any_method(method):
    outcome = rule("/install", "https://dl/install.sh").match(request("/install", method))
    assert outcome.response == Redirect("https://dl/install.sh")


@pytest.mark.parametrize(
    ("body", "events"),
    [
        pytest.param(
            b'{ "x": "Hello" }\n{ "y": "World" }',
            [{"x": "Hello"}, {"y": "World"}],
            id="golden-two-events",
        ),
        pytest.param(b"", [{}], id="no-body"),
        pytest.param(b"[1, 2]", [{}], id="array-gives-no-events"),
        pytest.param(b'1 "a" {"k": 1}', [{"k": 1}], id="non-objects-skipped"),
        pytest.param(b'{"a": 1}, {"b": 2}', [{"a": 1}], id="comma-stops-parsing"),
        pytest.param(b'{"a": 1} {"b": ', [{"a": 1}], id="truncated-object-stops"),
        pytest.param(b"{}" * 20, [{}] * 10, id="at-most-ten"),
        pytest.param(b'{"a": "' + b"x" * 300 + b'"}', [{}], id="cut-at-256-bytes"),
        pytest.param(b" " * 250 + b'{"a":1}', [{}], id="object-past-256-bytes"),
    ],
)
def test_it_records_one_capture_per_body_event(body, events):
    outcome = rule("/collect").match(request("/collect", "POST", body))
    assert outcome.response == Respond(200)
    assert [capture.fields["body_variables"] for capture in outcome.captures] == events


def test_it_records_body_events_on_redirects_too():
    outcome = rule("/c/{x}", "https://dl/{x}").match(request("/c/1", "POST", b'{"a":1}{"b":2}'))
    assert [c.fields["body_variables"] for c in outcome.captures] == [{"a": 1}, {"b": 2}]
    assert {c.fields["absolute_url"] for c in outcome.captures} == {"https://dl/1"}


def test_it_does_not_read_the_body_when_it_declines():
    def read_body(limit):
        raise AssertionError("body read")

    declined = Request("POST", "files.example.com", "/other", read_body=read_body)
    assert rule("/collect").match(declined) is None


@pytest.mark.parametrize(
    ("target", "raw_query", "expected"),
    [
        pytest.param(
            "https://t/x?format=json",
            "format=xml&page=2&page=3&q=a+b",
            "https://t/x?format=json&page=2&q=a%20b",
            id="reference-example",
        ),
        pytest.param("https://t/x", None, "https://t/x", id="no-query"),
        pytest.param("https://t/x", "", "https://t/x", id="bare-question-mark"),
        pytest.param("https://t/x?a=1", "", "https://t/x?a=1", id="target-kept-as-is"),
        pytest.param("https://t/x", "a=1;b=2", "https://t/x?a=1&b=2", id="semicolon-separates"),
        pytest.param("https://t/x", "flag&b=", "https://t/x?flag&b=", id="bare-key"),
        pytest.param("https://t/x#frag", "a=1", "https://t/x?a=1#frag", id="keeps-fragment"),
        pytest.param("https://t/x?q=a+b", "z=1", "https://t/x?q=a%20b&z=1", id="target-re-encoded"),
        pytest.param(
            "https://t/x",
            "k=%E2%9C%93&s=a%2Fb",
            "https://t/x?k=%E2%9C%93&s=a%2Fb",
            id="strict-encoding",
        ),
        pytest.param("not a uri", "a=1", "not a uri", id="unparsable-target-loses-query"),
        pytest.param("https://t/a[1]", "a=1", "https://t/a[1]", id="invalid-uri-loses-query"),
    ],
)
def test_it_forwards_the_query_on_redirect(target, raw_query, expected):
    assert rewrite_query(target, raw_query) == expected


@pytest.mark.parametrize(
    "outgoing",
    [
        "https://dl.example.com/{+path}",
        "http://dl.example.com:8080/f/{name}",
        "https://dl.example.com?x={x}",
        "https://dl.example.com#{x}",
        "https://dl.example.com{/path}",
        "https://dl.example.com{?q}",
        "HTTPS://dl.example.com/",
        "https://dl.example.com",
        "https://[::1]:8443/x",
    ],
)
def test_it_accepts_absolute_http_urls_with_a_literal_host(outgoing):
    assert rule("/{path}", outgoing).outgoing_url == outgoing


@pytest.mark.parametrize(
    "outgoing",
    [
        pytest.param("{+url}", id="all-variable"),
        pytest.param("https://{host}/x", id="variable-host"),
        pytest.param("https://dl.{domain}/x", id="partly-variable-host"),
        pytest.param("https://dl.example.com{path}", id="variable-right-after-host"),
        pytest.param("https://dl.example.com{.tld}/x", id="label-after-host"),
        pytest.param("https://dl.example.com:{port}/x", id="variable-port"),
        pytest.param("https://user@dl.example.com/x", id="userinfo"),
        pytest.param("ftp://dl.example.com/{x}", id="other-scheme"),
        pytest.param("//dl.example.com/{x}", id="scheme-relative"),
        pytest.param("/relative/{x}", id="relative"),
        pytest.param("https:///x", id="empty-host"),
        pytest.param("https://dl.example.com/{x", id="invalid-template"),
    ],
)
def test_it_rejects_outgoing_urls_whose_host_a_request_could_choose(outgoing):
    with pytest.raises(FieldError) as error:
        rule("/{x}", outgoing)
    assert error.value.field == "outgoing-url"


@pytest.mark.parametrize("incoming", ["/a b", "/{x", "/{!x}", "/100%"])
def test_it_rejects_an_invalid_incoming_template(incoming):
    with pytest.raises(FieldError) as error:
        rule(incoming, "https://dl/x")
    assert error.value.field == "incoming-path"


MANIFEST = {
    "type": "file-v1",
    "domain": "files.example.com",
    "incoming-path": "/{name}-{version}.tar.gz",
    "outgoing-url": "https://dl.example.com/{name}/{version}.tar.gz",
    "package-id": "pkg-1",
    "package-name": "tool",
    "owner": "acme",
}


def test_it_reads_the_manifest_fields():
    parsed = FileTemplateRule.from_manifest({**MANIFEST, "unknown-key": 1})
    assert parsed == FileTemplateRule(
        domain="files.example.com",
        incoming_path="/{name}-{version}.tar.gz",
        outgoing_url="https://dl.example.com/{name}/{version}.tar.gz",
        package_id="pkg-1",
        package_name="tool",
        owner="acme",
    )


def test_it_writes_the_manifest_back_in_field_order():
    assert list(FileTemplateRule.from_manifest(MANIFEST).to_manifest().items()) == list(
        MANIFEST.items()
    )


@pytest.mark.parametrize("outgoing", [{"outgoing-url": None}, {}], ids=["null", "absent"])
def test_it_accepts_a_null_or_absent_outgoing_url_and_round_trips_it(outgoing):
    data = {"type": "file-v1", "domain": "d", "incoming-path": "/collect", "package-id": "p"}
    parsed = FileTemplateRule.from_manifest({**data, **outgoing})
    assert parsed.outgoing_url is None
    assert parsed.to_manifest() == data
    assert FileTemplateRule.from_manifest(parsed.to_manifest()) == parsed


@pytest.mark.parametrize(
    ("missing", "field"),
    [("incoming-path", "incoming-path"), ("package-id", "package-id"), ("domain", "domain")],
)
def test_it_names_a_missing_required_field(missing, field):
    data = {key: value for key, value in MANIFEST.items() if key != missing}
    with pytest.raises(FieldError) as error:
        FileTemplateRule.from_manifest(data)
    assert error.value.field == field


def test_it_sorts_by_descending_literal_specificity():
    templates = ["/{+path}", "/docs/{page}", "/a", "/docs/latest", "/docs", "/b/{x}", "/docs/a"]
    rules = [rule(template) for template in templates]
    ordered = sorted(rules, key=lambda r: r.sort_key())
    assert [r.incoming_path for r in ordered] == [
        "/docs/latest",
        "/docs/a",
        "/docs/{page}",
        "/docs",
        "/b/{x}",
        "/a",
        "/{+path}",
    ]
    assert FileTemplateRule.order == ORDER_FILE_V1


def test_it_keeps_input_order_for_equal_specificity():
    first, second = rule("/docs/{a}"), rule("/docs/{b}")
    assert first.sort_key() == second.sort_key()


def test_it_counts_query_literals_of_operators_in_specificity():
    assert rule("/dl{?v}").sort_key() < rule("/dl").sort_key()


PATHS = st.text(alphabet=string.printable + "\u00e9\u2713\x00\x7f", max_size=60).map(
    lambda text: "/" + text
)
QUERIES = st.none() | st.text(alphabet=string.printable + "\u00e9", max_size=40)
CONTROL = {chr(code) for code in range(0x20)} | {"\x7f"}


@pytest.mark.parametrize(
    ("incoming", "outgoing"),
    [
        ("/{+path}", "https://dl.example.com/{+path}"),
        ("/f/{name}", "https://dl.example.com/f/{name}"),
        ("/{a}{?q}", "https://dl.example.com/{+a}?q={q}"),
        ("/{+path}", "https://dl.example.com{/path}"),
    ],
)
@given(path=PATHS, query=QUERIES)
def test_a_request_can_never_change_the_redirect_host(incoming, outgoing, path, query):
    outcome = rule(incoming, outgoing).match(Request("GET", "files.example.com", path, query))
    if outcome is None or not isinstance(outcome.response, Redirect):
        return
    location = outcome.response.location
    assert urlsplit(location).hostname == "dl.example.com"
    assert not CONTROL & set(location)
    assert location.isascii()
