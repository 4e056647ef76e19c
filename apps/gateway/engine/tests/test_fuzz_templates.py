"""Fuzzing the URI-template engine and the file rules built on it.

Templates are generated from the RFC 6570 grammar (every operator, prefixes,
explode, literal text with escapes), not picked from a list, and so are the
requests: whatever a tenant writes and whatever a client sends, parsing
either succeeds or says what is wrong, matching never fails, and a redirect
never leaves the rule's literal host nor carries a character that could
break the Location header.
"""

from __future__ import annotations

import os
import string
from urllib.parse import urlsplit

import pytest
from hypothesis import assume, event, example, given, settings
from hypothesis import strategies as st

from apps.gateway.engine.files import CatchAllRule, FileRegexRule, FileTemplateRule
from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Redirect, Respond
from apps.gateway.engine.rules import FieldError
from apps.gateway.engine.uritemplate import parse_template

# CI's budget; FUZZ_EXAMPLES=20000 searches longer on a workstation.
EXAMPLES = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")), deadline=None)

NAMES = ["a", "b", "path", "v"]
OPERATORS = ["", "+", "#", ".", "/", ";", "?", "&"]
# Literal pieces a template may hold, with the characters that matter most at
# the edge: delimiters, escapes (valid and not), userinfo and port markers.
LITERALS = st.text(alphabet=string.ascii_letters + string.digits + "-._~/?#@:=&;,%+!$'()*[]")

variables = st.builds(
    lambda name, modifier: name + modifier,
    st.sampled_from(NAMES),
    st.sampled_from(["", "*", ":1", ":3", ":9999"]),
)
expressions = st.builds(
    lambda operator, names: "{" + operator + ",".join(names) + "}",
    st.sampled_from(OPERATORS),
    st.lists(variables, min_size=1, max_size=3),
)
templates = st.lists(st.one_of(LITERALS, expressions), max_size=5).map("".join)

# What a client may put in a request target: printable ASCII (CR, LF and NUL
# never get past the edge, but the engine must cope on its own), escapes that
# decode to valid and invalid UTF-8, and non-ASCII text.
TARGET_CHARS = string.printable + "\x00\x7f\u00e9\u2713"
ESCAPES = st.sampled_from(["%2F", "%2f", "%25", "%0D%0A", "%00", "%C3%A9", "%ff", "%e2%82", "%"])
paths = st.lists(st.one_of(st.text(alphabet=TARGET_CHARS, max_size=12), ESCAPES), max_size=6).map(
    lambda pieces: "/" + "".join(pieces)
)
queries = st.none() | st.text(alphabet=TARGET_CHARS, max_size=30)

ORIGINS = ["https://dl.example.com", "http://dl.example.com:8080", "https://[2001:db8::1]"]
outgoing_templates = st.builds(
    lambda origin, delimiter, rest: origin + delimiter + rest,
    st.sampled_from(ORIGINS),
    # Mostly what a valid outgoing URL starts with after its host; sometimes not.
    st.sampled_from(["/", "?", "#", "{/path}", "{?a,b}", "{#v}", "/{+path}", "", "@", ":"]),
    templates,
)


def built(make, *fields: str):
    """The rule `make()` builds, or None when it refuses it naming one of `fields`
    (any other exception, or another field, fails the test)."""
    try:
        return make()
    except FieldError as error:
        if error.field not in fields:
            raise
        return None


def safe_header_value(value: str) -> bool:
    return value.isascii() and not any(ord(char) < 0x20 or char == "\x7f" for char in value)


def assert_stays_on(outgoing: str, location: str) -> None:
    """`location` has the host and port written literally before the outgoing
    template's first variable (the generated origin, or a longer literal host
    or port that the generated text ran on into), and no user info."""
    literal = urlsplit(outgoing.partition("{")[0]).netloc
    assert urlsplit(location).netloc == literal, location
    assert "@" not in literal, outgoing
    assert safe_header_value(location), location


@EXAMPLES
@given(st.text())
def test_parsing_any_text_gives_a_template_or_a_value_error(text):
    refusal = None
    try:
        parse_template(text)
    except ValueError as error:
        refusal = error
    assert refusal is None or "position" in str(refusal) or "complex" in str(refusal)


@EXAMPLES
@given(templates, st.text(alphabet=string.printable, max_size=40))
def test_matching_any_subject_binds_strings_or_nothing(text, subject):
    try:
        template = parse_template(text)
    except ValueError:
        return
    bound = template.match(subject)
    assert bound is None or all(
        isinstance(name, str) and isinstance(value, str) for name, value in bound.items()
    )
    assert bound is None or set(bound) <= set(template.variables)


@EXAMPLES
@given(templates, st.dictionaries(st.sampled_from(NAMES), st.text(), max_size=4))
def test_expanding_any_values_gives_ascii_without_control_characters(text, values):
    try:
        template = parse_template(text)
    except ValueError:
        return
    expanded = template.expand(values)
    assert expanded is None or safe_header_value(expanded)


@EXAMPLES
@given(st.sampled_from(["/p/{x}", "/p/{+x}", "/p{/x}", "/p{?x}", "/p/{x}.tgz"]), st.text())
@example("/p/{x}", "%2F")
@example("/p/{+x}", "a/b?c#d%")
def test_what_one_variable_expands_to_matches_back_to_its_value(text, value):
    # The reference's quirk: `{+x}` keeps `,` (its separator), and a trailing
    # separator is read as "stop here", so "a," binds "a".
    assume(not (text == "/p/{+x}" and value.endswith(",")))
    template = parse_template(text)

    assert template.match(template.expand({"x": value})) == {"x": value}


def requests_for(template_text: str, values: dict[str, str], path: str, query: str | None):
    """A request the incoming template expands to with `values` (so it likely
    matches), or the arbitrary `path` and `query` when it cannot expand."""
    try:
        expanded = parse_template(template_text).expand(values)
    except ValueError:
        expanded = None
    if expanded is None or not expanded.startswith("/"):
        return Request("GET", "files.example.com", path, query)
    raw_path, mark, raw_query = expanded.partition("?")
    return Request("GET", "files.example.com", raw_path, raw_query if mark else None)


@EXAMPLES
@given(
    incoming=templates.map(lambda text: "/" + text),
    outgoing=outgoing_templates,
    values=st.dictionaries(st.sampled_from(NAMES), st.text(alphabet=TARGET_CHARS, max_size=12)),
    path=paths,
    query=queries,
)
@example(
    incoming="/{+path}",
    outgoing="https://dl.example.com{+path}",
    values={},
    path="/@evil.test",
    query=None,
)
@example(
    incoming="/{a}",
    outgoing="https://dl.example.com/{+a}",
    values={},
    path="/%0D%0ALocation:",
    query=None,
)
def test_a_file_v1_redirect_never_leaves_the_outgoing_host(incoming, outgoing, values, path, query):
    rule = built(
        lambda: FileTemplateRule(
            domain="files.example.com",
            incoming_path=incoming,
            outgoing_url=outgoing,
            package_id="p",
        ),
        "incoming-path",
        "outgoing-url",
    )
    if rule is None:
        event("refused")
        return
    outcome = rule.match(requests_for(incoming, values, path, query))
    event(type(outcome.response).__name__ if outcome else "no match")
    if outcome is not None and isinstance(outcome.response, Redirect):
        assert_stays_on(outgoing, outcome.response.location)


REGEXES = [
    "(?<a>.)(?<b>.)(?<path>.*)(?<v>.*)",
    "(?<path>.*)",
    "/(?<a>[^/]+)/(?<b>.*)",
    "(?P<v>.)",
    "^/x/(?'path'.+)$",
    "(?<a>a*)?",
]


@EXAMPLES
@given(regex=st.sampled_from(REGEXES), outgoing=outgoing_templates, path=paths, query=queries)
def test_a_file_v2_redirect_never_leaves_the_outgoing_host(regex, outgoing, path, query):
    rule = built(
        lambda: FileRegexRule(
            domain="files.example.com", incoming_path=regex, outgoing_url=outgoing, package_id="p"
        ),
        "outgoing-url",
    )
    if rule is None:
        return
    outcome = rule.match(Request("GET", "files.example.com", path, query))
    event(type(outcome.response).__name__ if outcome else "no match")
    if outcome is not None and isinstance(outcome.response, Redirect):
        assert_stays_on(outgoing, outcome.response.location)


@EXAMPLES
@given(target=st.text(alphabet=string.printable + "\u00e9", max_size=30), path=paths, query=queries)
@example(target="mirror.example.com@evil.test", path="/x", query=None)
@example(target="mirror.example.com/base", path="/%2e%2e/%2e%2e/x", query="a=%0D%0A")
def test_a_catch_all_redirect_never_leaves_its_target_host(target, path, query):
    rule = built(
        lambda: CatchAllRule(
            domain="files.example.com", package_id="p", redirect_target_domain=target
        ),
        "redirect-target-domain",
    )
    if rule is None:
        return
    response = rule.match(Request("GET", "files.example.com", path, query)).response
    location = urlsplit(response.location)
    expected = urlsplit(f"https://{target}")
    assert (location.hostname, location.port) == (expected.hostname, expected.port)
    assert location.username is None
    assert safe_header_value(response.location)


@pytest.mark.parametrize(
    "outgoing",
    [
        "https://dl.example.com{+path}",  # the host could run on into the value
        "https://dl.example.com{path}",
        "https://dl.example.com@{+path}",  # userinfo: the real host would be the variable
        "https://{host}/x",
        "{+base}/x",
        "https://dl.example.com\\@evil.test/",
    ],
)
def test_an_outgoing_url_whose_host_a_request_could_choose_is_refused(outgoing):
    with pytest.raises(FieldError) as refused:
        FileTemplateRule(
            domain="files.example.com",
            incoming_path="/{+path}",
            outgoing_url=outgoing,
            package_id="p",
        )

    assert refused.value.field == "outgoing-url"


def test_a_request_with_only_a_query_still_answers_on_the_literal_host():
    rule = FileTemplateRule(
        domain="files.example.com",
        incoming_path="/x",
        outgoing_url="https://dl.example.com/x",
        package_id="p",
    )

    response = rule.match(Request("GET", "files.example.com", "/x", "u=@evil.test&%0d%0a")).response

    assert isinstance(response, Redirect | Respond)
    assert_stays_on("https://dl.example.com/x", response.location)
