"""URI templates: Burrito's grammar, matching and expansion (reference §2.4, §4.1-§4.3)."""

from __future__ import annotations

import pytest

from apps.gateway.engine.uritemplate import parse_template


@pytest.mark.parametrize(
    "text",
    [
        "/a b",
        '/a"b',
        "/a'b",
        "/100%",
        "/%4",
        "/%zz",
        "/<a>",
        "/a\\b",
        "/a^b",
        "/a`b",
        "/a|b",
        "/a}",
        "/{",
        "/{}",
        "/{x",
        "/{!x}",
        "/{=x}",
        "/{x.}",
        "/{.x.}",
        "/{a,}",
        "/{a b}",
        "/{x:0}",
        "/{x:}",
        "/{x:10000}",
        "/{x-y}",
        "/tab\there",
        "/nl\nhere",
        "/del\x7f",
        "/{a,b,c,d,e,f,g,h,i}",
    ],
)
def test_it_rejects_invalid_templates(text):
    with pytest.raises(ValueError, match="position"):
        parse_template(text)


@pytest.mark.parametrize(
    "text",
    [
        "/plain/path",
        "/%41%7e",
        "/{x:9999}",
        "/{x*}",
        "/{a.b}",
        "/{a%20b}",
        "/{_x,y_1}",
        "/{+x}{#x}{.x}{/x}{;x}{?x}{&x}",
        "https://example.com/{+path}",
        "/caf\u00e9",
        "/a!$&()*+,;=:@[]~",
    ],
)
def test_it_accepts_valid_templates(text):
    assert parse_template(text).source == text


@pytest.mark.parametrize(
    ("template", "subject", "expected"),
    [
        pytest.param(
            "/{tool}-{os}-{arch}",
            "/cli-linux-arm64-musl",
            {"tool": "cli", "os": "linux", "arch": "arm64-musl"},
            id="leftmost-shortest",
        ),
        pytest.param(
            "/{name}-{version}.{ext}",
            "/minikube-1.0.tar.gz",
            {"name": "minikube", "version": "1", "ext": "0.tar.gz"},
            id="minikube",
        ),
        pytest.param("/{package}-{os}-{arch}", "/minikube-linux", None, id="too-few-parts"),
        pytest.param("/{a}/{b}", "/api/data", {"a": "api", "b": "data"}, id="two-segments"),
        pytest.param("/get/{f}", "/get/a%2Fb", {"f": "a/b"}, id="decodes-escapes"),
        pytest.param("/get/{f}", "/get/caf%C3%A9", {"f": "caf\u00e9"}, id="decodes-utf8"),
        pytest.param("/get/{f}", "/get/caf%c3%a9", {"f": "caf\u00e9"}, id="lower-case-escapes"),
        pytest.param("/get/{f}", "/get/%C3", None, id="invalid-utf8"),
        pytest.param("/get/{f}", "/get/%ED%A0%80", None, id="encoded-surrogate"),
        pytest.param("/get/{f}", "/get/%C0%AF", None, id="overlong"),
        pytest.param("/get/{f}", "/get/a/b", None, id="no-slash"),
        pytest.param("/get/{f}", "/get/a:b", None, id="no-colon"),
        pytest.param("/get/{f}", "/get/a+b", None, id="no-plus"),
        pytest.param("/get/{f}", "/get/a@b", None, id="no-at"),
        pytest.param("/get/{f}", "/get/a b", None, id="no-space"),
        pytest.param("/get/{f}", "/get/caf\u00e9", None, id="no-raw-non-ascii"),
        pytest.param("/get/{f}", "/get/", {"f": ""}, id="empty-value"),
        pytest.param("/get/{f}", "/get/report,", {"f": "report"}, id="trailing-comma"),
        pytest.param("/get/{f}", "/get/a,b", None, id="comma-inside"),
        pytest.param("/get/{f}", "/GET/x", None, id="case-sensitive"),
        pytest.param("/get/{f}", "/get/x/", None, id="anchored-end"),
        pytest.param("/get/{f}", "/x/get/x", None, id="anchored-start"),
        pytest.param("/{+path}", "/a/b%2Fc", {"path": "a/b/c"}, id="reserved-expansion"),
        pytest.param("/{+path}", "/a:b@c+d,e", {"path": "a:b@c+d,e"}, id="reserved-chars"),
        pytest.param("/{+path}", "/", {"path": ""}, id="reserved-empty"),
        pytest.param("/x{#frag}", "/x#a/b", {"frag": "a/b"}, id="fragment"),
        pytest.param("/x{/a}", "/x/y", {"a": "y"}, id="path-segment"),
        pytest.param("/x{/a,b}", "/x/1/2/", {"a": "1", "b": "2"}, id="trailing-separator"),
        pytest.param("/x{/a}", "/x", {}, id="absent-segment"),
        pytest.param("/x{.ext}", "/x.tar", {"ext": "tar"}, id="label"),
        pytest.param("/x{;a,b}", "/x;a;b=2", {"a": "", "b": "2"}, id="path-parameters"),
        pytest.param("/dl{?version}", "/dl?version=1.0", {"version": "1.0"}, id="query"),
        pytest.param("/dl{?v,os}", "/dl?v=1&os=linux", {"v": "1", "os": "linux"}, id="query-two"),
        pytest.param("/dl{?v,os}", "/dl?os=linux&v=1", None, id="query-order"),
        pytest.param("/dl{?v}", "/dl?v=1&x=2", None, id="query-extra"),
        pytest.param("/dl{?v}{&os}", "/dl?v=1&os=mac", {"v": "1", "os": "mac"}, id="continuation"),
        pytest.param("/dl?x={x}", "/dl?x=a%20b", {"x": "a b"}, id="literal-query"),
        pytest.param("/get/{f*}", "/get/a", None, id="explode-never-binds"),
        pytest.param("/get/{f*}", "/get/", {}, id="explode-left-unbound"),
        pytest.param("/get/{f:2}", "/get/abcd", {"f": "abcd"}, id="prefix-matches-any-length"),
        pytest.param("/{x}/{x}", "/a/a", {"x": "a"}, id="repeat-consistent"),
        pytest.param("/{x}/{x}", "/a/b", None, id="repeat-inconsistent"),
        pytest.param("/{x}/{x:2}", "/abc/ab", {"x": "abc"}, id="repeat-prefix"),
        pytest.param("/%41/{x}", "/%41/y", {"x": "y"}, id="literal-escape"),
        pytest.param("/%41/{x}", "/%61/y", None, id="literal-escape-case"),
        pytest.param("/%41/{x}", "/A/y", None, id="literal-escape-not-decoded"),
        pytest.param("/caf\u00e9/{x}", "/caf%C3%A9/y", {"x": "y"}, id="non-ascii-literal"),
        pytest.param("/no-variables", "/no-variables", {}, id="literal-only"),
    ],
)
def test_it_matches_like_burrito(template, subject, expected):
    assert parse_template(template).match(subject) == expected


@pytest.mark.parametrize(
    ("template", "values", "expected"),
    [
        ("https://x/{v}", {"v": "a/b+c d"}, "https://x/a%2Fb%2Bc%20d"),
        ("https://x/{v}", {"v": "caf\u00e9"}, "https://x/caf%C3%A9"),
        ("https://x/{v}", {"v": "100%"}, "https://x/100%25"),
        ("https://x/{+v}", {"v": "a/b?c#d:e@f"}, "https://x/a/b?c#d:e@f"),
        ("https://x/{+v}", {"v": "%2F"}, "https://x/%252F"),
        ("https://x/{+v}", {"v": "a b\r\n"}, "https://x/a%20b%0D%0A"),
        ("https://x/{#v}", {"v": "a/b"}, "https://x/#a/b"),
        ("https://x{/a,b}", {"a": "1", "b": "2/3"}, "https://x/1/2%2F3"),
        ("https://x/f{.ext}", {"ext": "tar"}, "https://x/f.tar"),
        ("https://x/f{;a,b}", {"a": "", "b": "2"}, "https://x/f;a;b=2"),
        ("https://x/f{?a,b}", {"a": "1", "b": ""}, "https://x/f?a=1&b="),
        ("https://x/f?a=1{&b}", {"b": "2"}, "https://x/f?a=1&b=2"),
        ("https://x/{v:3}", {"v": "abcdef"}, "https://x/abc"),
        ("https://x/{v*}", {"v": "a"}, "https://x/a"),
        ("https://x/caf\u00e9/%41", {}, "https://x/caf%C3%A9/%41"),
        ("https://x/{a}/{b}", {"a": "1"}, None),
    ],
)
def test_it_expands_like_burrito(template, values, expected):
    assert parse_template(template).expand(values) == expected


@pytest.mark.parametrize(
    ("template", "captures"),
    [
        ("/data?x={x}", True),
        ("/dl{?version}", True),
        ("/data?a=1", True),
        ("/{+path}", False),
        ("/data", False),
        ("/data?", False),
        ("/x{&a}", False),
        ("/x#{?a}", False),
    ],
)
def test_it_knows_whether_a_template_captures_the_query(template, captures):
    assert parse_template(template).captures_query is captures


def test_it_lists_variables_once_in_template_order():
    assert parse_template("/{b}/{a}/{b}{?c}").variables == ("b", "a", "c")


@pytest.mark.parametrize(
    ("template", "subject", "expected"),
    [
        ("/{a}-{b}-{c}", "/" + "-" * 100_000 + "/", None),
        ("/{+a}x{+b}", "/" + "x" * 100_000, {"a": "", "b": "x" * 99_999}),
        ("/{a}{b}{c}{d}", "/" + "a" * 100_000, {"a": "", "b": "", "c": "", "d": "a" * 100_000}),
        ("/{+a}{?b,c}", "/" + "?b=" * 30_000, {"a": "?b=" * 29_999, "b": ""}),
    ],
    ids=["separators", "reserved", "adjacent", "query"],
)
def test_it_matches_hostile_paths_without_backtracking(template, subject, expected):
    assert parse_template(template).match(subject) == expected
