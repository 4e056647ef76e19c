"""Image patterns of docker-v2 rules (GATEWAY-REFERENCE §2.4, §7.2)."""

from __future__ import annotations

import contextlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.imagepattern import MAX_NESTING, PatternError, parse_image_pattern


def matches(pattern: str, image: str) -> bool:
    return parse_image_pattern(pattern).matches(image.split("/"))


MATCHING = [
    # (pattern, image, expected)
    ("library/*", "library/x", True),
    ("library/*", "library/", True),  # a star matches an empty run
    ("library/*", "library", False),  # segment counts must be equal
    ("library/*", "library/x/y", False),
    ("library/hello-world", "library/hello-world", True),
    ("library/hello-world", "hello-world", False),  # no implicit library/
    ("Library/*", "library/x", False),  # case-sensitive
    ("library/*", "LIBRARY/x", False),
    ("*", "anything-at-all", True),
    ("*a*", "bab", True),
    ("*a*", "bbb", False),
    ("*-{alpine,slim}", "node-alpine", True),
    ("*-{alpine,slim}", "node-slim", True),
    ("*-{alpine,slim}", "node-bullseye", False),
    ("lin{t, ker}", "lint", True),  # spaces belong to the alternative
    ("lin{t, ker}", "lin ker", True),
    ("lin{t, ker}", "linker", False),
    ("{a,b{c,d}}e", "ae", True),  # alternatives nest
    ("{a,b{c,d}}e", "bce", True),
    ("{a,b{c,d}}e", "bde", True),
    ("{a,b{c,d}}e", "be", False),
    ("org/{api,web}-*", "org/web-1", True),
    ("org/{api,web}-*", "org/db-1", False),
    (r"a\*b", "a*b", True),  # escapes are literal
    (r"a\*b", "axb", False),
    (r"a\{b\}", "a{b}", True),
    (r"a\,b", "a,b", True),
    ("library/*}", "library/x", True),  # the ignored suffix does not take part
    ("org/app}junk", "org/app", True),
    ("org/app}junk", "org/app}junk", False),
    ("a,b", "a", True),
    ("a,b", "a,b", False),
]


@pytest.mark.parametrize(
    ("pattern", "image", "expected"),
    MATCHING,
    ids=[f"{p} vs {i}" for p, i, _ in MATCHING],
)
def test_a_pattern_matches_images_per_segment(pattern, image, expected):
    assert matches(pattern, image) is expected


def test_a_pattern_never_matches_an_empty_image():
    assert parse_image_pattern("*").matches([]) is False


def test_a_star_never_crosses_a_segment_boundary():
    assert parse_image_pattern("*").matches(["a", "b"]) is False


VALID_PREFIXES = [
    # (text, an image only the parsed prefix matches)
    ("library/*}", "library/x"),
    ("org/app,more", "org/app"),
    ("org/app\\x", "org/app"),  # an unknown escape ends the pattern, as the reference parser does
]


@pytest.mark.parametrize(("text", "image"), VALID_PREFIXES, ids=[t for t, _ in VALID_PREFIXES])
def test_a_valid_prefix_is_accepted_and_the_rest_ignored(text, image):
    assert matches(text, image)


INVALID = [
    "",
    "a/",
    "a//b",
    "/a",
    "}",
    ",",
    "*/",
    "\\x",
    "a/\\x",
    "{a",
    "{}",
    "{a,}",
    "{,a}",
    "{a\\x}",
    "{a/b}",
    "x/{a,{b}",
]


@pytest.mark.parametrize("text", INVALID, ids=[repr(t) for t in INVALID])
def test_an_invalid_pattern_is_rejected(text):
    with pytest.raises(PatternError):
        parse_image_pattern(text)


def test_a_pattern_keeps_its_text_for_export():
    assert parse_image_pattern("library/*}").text == "library/*}"


def test_absurdly_deep_nesting_is_rejected_rather_than_overflowing():
    text = "{" * (MAX_NESTING + 1) + "a" + "}" * (MAX_NESTING + 1)
    with pytest.raises(PatternError):
        parse_image_pattern(text)


def test_nesting_up_to_the_limit_is_accepted():
    text = "{" * MAX_NESTING + "a" + "}" * MAX_NESTING
    assert matches(text, "a")


ADVERSARIAL = [
    ("*a" * 20 + "*b", "a" * 5000),
    ("{*,{*,{*,a*}}}" * 10 + "b", "a" * 5000),
    ("{a,aa,aaa,*}" * 15 + "c", "a" * 5000),
]


@pytest.mark.parametrize(
    ("pattern", "image"), ADVERSARIAL, ids=["many stars", "nested stars", "ambiguous alternatives"]
)
def test_adversarial_patterns_get_an_answer(pattern, image):
    """An exponential matcher would never return here (speed is for benchmarks)."""
    assert matches(pattern, image) is False


@given(st.text())
def test_parsing_arbitrary_text_either_succeeds_or_raises_pattern_error(text):
    with contextlib.suppress(PatternError):
        parse_image_pattern(text)


@given(
    st.text(alphabet="ab*{},\\/", max_size=12),
    st.lists(st.text(max_size=20), max_size=4),
)
def test_matching_arbitrary_images_never_raises(text, image):
    try:
        pattern = parse_image_pattern(text)
    except PatternError:
        return
    assert pattern.matches(image) in (True, False)


# An independent oracle: globs generated as (pattern text, equivalent Python regex).
_literal_chars = st.sampled_from(["a", "b", "\\*", "\\{", "\\}", "\\,"])


def _literal(chars):
    text = "".join(chars)
    return text, re.escape(re.sub(r"\\(.)", r"\1", text))


def _union(globs):
    return "{" + ",".join(t for t, _ in globs) + "}", "(?:" + "|".join(r for _, r in globs) + ")"


def _glob(pieces):
    return "".join(t for t, _ in pieces), "".join(r for _, r in pieces)


_piece = st.recursive(
    st.one_of(
        st.just(("*", "[^/]*")),
        st.lists(_literal_chars, min_size=1, max_size=3).map(_literal),
    ),
    lambda inner: st.lists(
        st.lists(inner, min_size=1, max_size=3).map(_glob), min_size=1, max_size=3
    ).map(_union),
    max_leaves=8,
)


@given(
    st.lists(_piece, min_size=1, max_size=4).map(_glob),
    st.text(alphabet="ab*{},", max_size=10),
)
def test_matching_agrees_with_a_regular_expression_oracle(glob, segment):
    text, regex = glob
    assert parse_image_pattern(text).matches([segment]) == bool(re.fullmatch(regex, segment))
