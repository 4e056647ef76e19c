"""file-v2: regex rules on RE2 (reference §2.2, §2.4, §3.3, §5; decisions §2, §6)."""

from __future__ import annotations

import string
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.files import FileRegexRule
from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Redirect, Respond
from apps.gateway.engine.rules import ORDER_FILE_V2, FieldError


def rule(incoming: str, outgoing: str | None = None) -> FileRegexRule:
    return FileRegexRule(
        domain="files.example.com",
        incoming_path=incoming,
        outgoing_url=outgoing,
        package_id="pkg-2",
        ref="r2",
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


def decide(incoming: str, outgoing: str | None, target: str):
    """(Location or "200", variables), or None when the rule declines."""
    outcome = rule(incoming, outgoing).match(request(target))
    if outcome is None:
        return None
    response = outcome.response
    answer = str(response.status) if isinstance(response, Respond) else response.location
    return answer, outcome.captures[0].fields["variables"]


@pytest.mark.parametrize(
    ("incoming", "outgoing", "target", "expected"),
    [
        pytest.param(
            "/(?<a>.*)/(?<b>.*)",
            "https://datausa.io/{a}/{b}",
            "/api/data",
            ("https://datausa.io/api/data", {"a": "api", "b": "data"}),
            id="golden-re-1",
        ),
        pytest.param(
            "/packages/(?<packageName>.*)-(?<version>[0-9].*)",
            "https://datausa.io/{packageName}/{version}",
            "/packages/some-example-package-0.1.2.4-head",
            (
                "https://datausa.io/some-example-package/0.1.2.4-head",
                {"packageName": "some-example-package", "version": "0.1.2.4-head"},
            ),
            id="golden-re-2",
        ),
        pytest.param(
            "/releases/(?<v>[0-9.]+)",
            "https://dl/{v}",
            "/old/releases/1.2/notes",
            ("https://dl/1.2", {"v": "1.2"}),
            id="unanchored",
        ),
        pytest.param(
            "^/releases/(?<v>[0-9.]+)$",
            "https://dl/{v}",
            "/old/releases/1.2/notes",
            None,
            id="anchored-by-the-regex",
        ),
        pytest.param(
            "/(?<a>.*)/(?<b>.*)",
            "https://dl/{a}/{b}",
            "/x/y/z",
            ("https://dl/x%2Fy/z", {"a": "x/y", "b": "z"}),
            id="greedy",
        ),
        pytest.param(
            "/(?P<name>[a-z]+)",
            "https://dl/{name}",
            "/abc",
            ("https://dl/abc", {"name": "abc"}),
            id="python-named-group",
        ),
        pytest.param(
            "/(?'name'[a-z]+)",
            "https://dl/{name}",
            "/abc",
            ("https://dl/abc", {"name": "abc"}),
            id="quote-named-group",
        ),
        pytest.param(
            "/([a-z]+)/(?<n>[0-9]+)",
            "https://dl/{n}",
            "/abc/12",
            ("https://dl/12", {"n": "12"}),
            id="numbered-groups-ignored",
        ),
        pytest.param(
            "/f/(?<name>.+)",
            "https://dl/{name}",
            "/f/my%20file",
            ("https://dl/my%2520file", {"name": "my%20file"}),
            id="double-encoding",
        ),
        pytest.param(
            "/f/(?<name>.+)",
            "https://dl/{name}",
            "/f/caf\u00e9",
            ("https://dl/caf%C3%A9", {"name": "caf\u00e9"}),
            id="utf8-subject",
        ),
        pytest.param(
            "/(?<a>x)?(?<b>y)",
            "https://dl/{b}{a}",
            "/y",
            ("https://dl/y", {"a": "", "b": "y"}),
            id="skipped-group-before-match-empty",
        ),
        pytest.param(
            "/(?<a>y)(?<b>x)?",
            "https://dl/{a}",
            "/y",
            ("https://dl/y", {"a": "y"}),
            id="trailing-skipped-group-is-absent",
        ),
        pytest.param(
            "/(?<a>y)(?<b>x)?",
            "https://dl/{a}/{b}",
            "/y",
            None,
            id="absent-group-needed-by-outgoing-declines",
        ),
        pytest.param(
            "/dl/(?<f>.+)", "https://dl/{g}", "/dl/x", None, id="outgoing-needs-unknown-variable"
        ),
        pytest.param(
            "/install",
            "https://dl/install.sh",
            "/install",
            ("https://dl/install.sh", {}),
            id="no-variables",
        ),
        pytest.param(
            "/(?<v>[0-9]+)",
            "https://dl/fixed",
            "/42",
            ("https://dl/fixed", {"v": "42"}),
            id="outgoing-without-variables",
        ),
        pytest.param("/(?<v>[0-9]+)", None, "/42", ("200", {"v": "42"}), id="null-outgoing"),
        pytest.param("/(?<v>[0-9]+)", None, "/abc", None, id="no-match"),
        pytest.param("/dl", "https://dl/x", "/DL", None, id="case-sensitive"),
        pytest.param("(?<v>a*)", "https://dl/{v}", "/bbb", None, id="empty-match-is-no-match"),
        pytest.param(
            "  /dl/(?<f>.+)  ",
            "https://dl/{f}",
            "/dl/x",
            ("https://dl/x", {"f": "x"}),
            id="whitespace-trimmed",
        ),
        pytest.param(
            "/dl/(?<f>[^?]+)",
            "https://dl/{f}",
            "/dl/x?y=1",
            ("https://dl/x?y=1", {"f": "x"}),
            id="query-not-matched-but-forwarded",
        ),
        pytest.param(
            "/dl/(?<f>.+)",
            "https://dl/{f}?a=1",
            "/dl/x?a=2&b=3",
            ("https://dl/x?a=1&b=3", {"f": "x"}),
            id="rewrite-query",
        ),
        pytest.param(
            "/[(?<x>]/(?<y>z)",
            "https://dl/{y}",
            "/(/z",
            ("https://dl/z", {"y": "z"}),
            id="class-not-a-group",
        ),
        pytest.param(
            r"/\(?<x>y\)",
            "https://dl/a",
            "/<x>y)",
            ("https://dl/a", {}),
            id="escaped-paren-not-a-group",
        ),
    ],
)
def test_it_decides_like_the_reference(incoming, outgoing, target, expected):
    assert decide(incoming, outgoing, target) == expected


def test_it_redirects_with_307_and_records_an_empty_body_event():
    outcome = rule("/dl/(?<f>.+)", "https://dl/{f}").match(request("/dl/x", "POST", b'{"a":1}'))
    assert outcome.response == Redirect("https://dl/x", status=307)
    assert outcome.rule_type == "file-v2"
    assert outcome.rule_ref == "r2"
    [capture] = outcome.captures
    assert (capture.kind, capture.package) == ("file", "pkg-2")
    assert capture.fields == {
        "absolute_url": "https://dl/x",
        "variables": {"f": "x"},
        "body_variables": {},
    }


@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE"])
def test_it_matches_any_method(method):
    assert rule("/dl", "https://dl/x").match(request("/dl", method)).response == Redirect(
        "https://dl/x"
    )


@pytest.mark.parametrize(
    "incoming",
    [
        pytest.param("/(?<=a)b", id="lookbehind"),
        pytest.param("/a(?=b)", id="lookahead"),
        pytest.param(r"/(a)\1", id="backreference"),
        pytest.param("/(unclosed", id="unbalanced"),
        pytest.param("/[z-a]", id="bad-range"),
        pytest.param("/(?<x>a)(?<x>b)", id="duplicate-name"),
        pytest.param("/(?'x'a)(?P<x>b)", id="duplicate-name-mixed-syntax"),
    ],
)
def test_it_rejects_a_regex_re2_cannot_run(incoming):
    with pytest.raises(FieldError) as error:
        rule(incoming, "https://dl/x")
    assert error.value.field == "incoming-path"
    assert error.value.reason


def test_it_does_not_log_rejected_regexes_to_stderr(capfd):
    with pytest.raises(FieldError):
        rule("/(?<=a)b")
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "outgoing", ["https://{host}/x", "{+url}", "https://dl.example.com{x}", "ftp://x/{a}"]
)
def test_it_rejects_outgoing_urls_whose_host_a_request_could_choose(outgoing):
    with pytest.raises(FieldError) as error:
        rule("/(?<x>.*)", outgoing)
    assert error.value.field == "outgoing-url"


@pytest.mark.parametrize(
    ("incoming", "path", "expected"),
    [
        ("(a+)+$", "/" + "a" * 100_000 + "!", None),
        ("(x+x+)+y", "/" + "x" * 100_000, None),
        ("/(?<v>(a|aa)+)$", "/" + "a" * 100_000, {"v": "a" * 100_000}),
        ("(?<v>(x+x+)+y)", "/" + "x" * 100_000 + "y", {"v": "x" * 100_000 + "y"}),
    ],
    ids=["nested-plus-fails", "pairs-fail", "alternation-matches", "pairs-match"],
)
def test_catastrophic_regexes_return_the_right_answer_on_long_paths(incoming, path, expected):
    outcome = rule(incoming).match(request(path))
    assert (None if outcome is None else outcome.captures[0].fields["variables"]) == expected


def test_it_sorts_by_regex_source_text():
    sources = ["/downloads/(?<f>.*)", "/(?<x>.*)", "  /b", "/a"]
    ordered = sorted((rule(source) for source in sources), key=lambda r: r.sort_key())
    assert [r.incoming_path for r in ordered] == ["  /b", "/(?<x>.*)", "/a", "/downloads/(?<f>.*)"]
    assert FileRegexRule.order == ORDER_FILE_V2


MANIFEST = {
    "type": "file-v2",
    "domain": "files.example.com",
    "incoming-path": "/dl/(?<f>.+)",
    "outgoing-url": "https://dl.example.com/{f}",
    "package-id": "pkg-2",
    "package-name": "tool",
    "owner": "acme",
}


def test_it_round_trips_the_manifest_in_field_order():
    parsed = FileRegexRule.from_manifest({**MANIFEST, "extra": True})
    assert list(parsed.to_manifest().items()) == list(MANIFEST.items())
    assert FileRegexRule.from_manifest(parsed.to_manifest()) == parsed


@pytest.mark.parametrize("outgoing", [{"outgoing-url": None}, {}], ids=["null", "absent"])
def test_it_accepts_a_null_or_absent_outgoing_url(outgoing):
    data = {"type": "file-v2", "domain": "d", "incoming-path": "/x", "package-id": "p"}
    parsed = FileRegexRule.from_manifest({**data, **outgoing})
    assert parsed.to_manifest() == data
    assert parsed.match(request("/x")).response == Respond(200)


def test_it_keeps_the_untrimmed_source_for_display():
    assert rule("  /x  ").to_manifest()["incoming-path"] == "  /x  "


PATHS = st.text(alphabet=string.printable + "\u00e9\ud800", max_size=60).map(lambda t: "/" + t)


@pytest.mark.parametrize(
    "outgoing", ["https://dl.example.com/{+path}", "https://dl.example.com/f/{path}"]
)
@given(path=PATHS, query=st.none() | st.text(string.printable, max_size=30))
def test_a_request_can_never_change_the_redirect_host(outgoing, path, query):
    outcome = rule("/(?<path>.*)", outgoing).match(Request("GET", "d", path, query))
    assert outcome is not None
    location = outcome.response.location
    assert urlsplit(location).hostname == "dl.example.com"
    assert location.isascii()
    assert not any(ord(char) < 0x20 or char == "\x7f" for char in location)
