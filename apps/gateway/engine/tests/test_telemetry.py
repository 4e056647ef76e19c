"""telemetry-v1 rules (GATEWAY-REFERENCE §2.2, §9, §11; GATEWAY-DECISIONS §7)."""

from __future__ import annotations

import hashlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.gateway.engine.http import Request
from apps.gateway.engine.outcome import Respond
from apps.gateway.engine.rules import FieldError
from apps.gateway.engine.telemetry import MAX_BODY_BYTES, MAX_EVENTS, TelemetryRule

DOMAIN = "t.example.com"
MANIFEST = {
    "type": "telemetry-v1",
    "domain": DOMAIN,
    "package-id": "pkg-1",
    "incoming-path": "/events",
}


def digest(token):
    return "sha256:" + hashlib.sha256(token.encode()).hexdigest()


def rule(tokens=None, **kwargs):
    data = MANIFEST if tokens is None else {**MANIFEST, "access-tokens": tokens}
    return TelemetryRule.from_manifest({**data, **kwargs})


class Body:
    """A request body that remembers how much the rule asked for."""

    def __init__(self, data: bytes):
        self.data = data
        self.limits: list[int] = []

    def __call__(self, limit: int) -> bytes:
        self.limits.append(limit)
        return self.data[:limit]


def post(body=b"", path="/events", method="POST", authorization=None, query=None):
    headers = () if authorization is None else (("authorization", authorization),)
    reader = body if isinstance(body, Body) else Body(body)
    return Request(method, DOMAIN, path, query, headers, read_body=reader)


def events(outcome):
    return [capture.fields["event"] for capture in outcome.captures]


# --- manifest ---


@pytest.mark.parametrize("key", ["domain", "package-id", "incoming-path"])
def test_a_rule_without_a_required_field_names_it(key):
    with pytest.raises(FieldError) as error:
        TelemetryRule.from_manifest({k: v for k, v in MANIFEST.items() if k != key})
    assert error.value.field == key


@pytest.mark.parametrize("tokens", ["tok", [1], {"a": 1}])
def test_access_tokens_must_be_a_list_of_strings(tokens):
    with pytest.raises(FieldError) as error:
        rule(tokens)
    assert error.value.field == "access-tokens"


def test_plain_tokens_are_stored_hashed():
    assert rule(["s3cret"]).access_tokens == (digest("s3cret"),)


def test_already_hashed_tokens_are_stored_unchanged():
    assert rule([digest("s3cret")]).access_tokens == (digest("s3cret"),)


@pytest.mark.parametrize(
    ("tokens", "stored"), [(None, None), ([], ())], ids=["absent means open", "empty means closed"]
)
def test_absent_and_empty_token_lists_stay_distinct(tokens, stored):
    assert rule(tokens).access_tokens == stored


def test_export_emits_only_hashed_tokens():
    exported = rule(["s3cret"]).to_manifest()
    assert exported == {**MANIFEST, "access-tokens": [digest("s3cret")]}
    assert "s3cret" not in json.dumps(exported)


@pytest.mark.parametrize("tokens", [None, [], ["a", "b"]], ids=["open", "closed", "two tokens"])
def test_export_then_import_round_trips(tokens):
    original = rule(tokens)
    assert TelemetryRule.from_manifest(original.to_manifest()) == original


def test_a_round_tripped_rule_still_accepts_the_plain_token():
    restored = TelemetryRule.from_manifest(rule(["s3cret"]).to_manifest())
    assert restored.match(post(authorization="Bearer s3cret")).status == 200


def test_the_limits_default_to_64_kib_and_100_events():
    assert (rule().max_body_bytes, rule().max_events) == (MAX_BODY_BYTES, MAX_EVENTS)
    assert (MAX_BODY_BYTES, MAX_EVENTS) == (64 * 1024, 100)


# --- which requests it claims ---

CLAIMS = [
    # (incoming-path, method, path, claimed)
    ("/events", "POST", "/events", True),
    ("events", "POST", "/events", True),  # the leading slash is optional
    ("/events", "POST", "/ev%65nts", True),  # segments are percent-decoded
    ("/a/b", "POST", "/a/b", True),
    ("/events", "POST", "/events/", False),  # a trailing slash counts
    ("/events/", "POST", "/events", False),
    ("/events", "POST", "/Events", False),  # case-sensitive
    ("/events", "POST", "/events/x", False),
    ("/events", "POST", "/", False),
    ("/events", "GET", "/events", False),
    ("/events", "PUT", "/events", False),
    ("/events", "post", "/events", False),
]


@pytest.mark.parametrize(
    ("incoming", "method", "path", "claimed"),
    CLAIMS,
    ids=[f"{i} {m} {p}" for i, m, p, _ in CLAIMS],
)
def test_it_claims_only_posts_to_exactly_its_path(incoming, method, path, claimed):
    outcome = rule(**{"incoming-path": incoming}).match(post(path=path, method=method))
    assert (outcome is not None) is claimed


def test_the_query_is_ignored():
    assert rule().match(post(query="a=1")).status == 200


# --- authorisation ---

AUTH = [
    # (id, tokens, authorization, status)
    ("open rule, no header", None, None, 200),
    ("open rule, any header", None, "Bearer whatever", 200),
    ("right token", ["tok", "other"], "Bearer tok", 200),
    ("second token", ["tok", "other"], "Bearer other", 200),
    ("token is trimmed", ["tok"], "Bearer   tok  ", 200),
    ("wrong token", ["tok"], "Bearer nope", 401),
    ("no header", ["tok"], None, 401),
    ("lower-case bearer", ["tok"], "bearer tok", 401),
    ("no space after Bearer", ["tok"], "Bearertok", 401),
    ("Basic instead of Bearer", ["tok"], "Basic tok", 401),
    ("the stored digest is not a token", ["tok"], "Bearer " + digest("tok"), 401),
    ("empty list, right-looking header", [], "Bearer tok", 401),
    ("empty list, no header", [], None, 401),
]


@pytest.mark.parametrize(
    ("tokens", "authorization", "status"), [a[1:] for a in AUTH], ids=[a[0] for a in AUTH]
)
def test_a_bearer_token_from_the_list_is_required_when_there_is_a_list(
    tokens, authorization, status
):
    assert rule(tokens).match(post(b'{"a":1}', authorization=authorization)).status == status


def test_an_unauthorised_post_gets_an_empty_401_without_captures_or_reading_the_body():
    body = Body(b'{"a":1}')
    outcome = rule(["tok"]).match(post(body, authorization="Bearer nope"))
    assert outcome.response == Respond(401)
    assert outcome.captures == ()
    assert body.limits == []


# --- body and captures ---

BODIES = [
    # (id, body, events)
    ("two objects on two lines", b'{"a":1}\n{"b":2}', [{"a": 1}, {"b": 2}]),
    ("objects back to back", b'{"a":1}{"b":2}', [{"a": 1}, {"b": 2}]),
    ("non-objects are skipped", b'1 "x" {"a":1} null', [{"a": 1}]),
    ("a top-level array gives nothing", b'[{"a":1}]', []),
    ("parsing stops at the first error", b'{"a":1}, {"b":2}', [{"a": 1}]),
    ("a truncated object is dropped", b'{"a":1} {"b":', [{"a": 1}]),
    ("an empty body", b"", []),
    ("only whitespace", b" \n\t ", []),
    ("not JSON at all", b"hello", []),
]


@pytest.mark.parametrize(("body", "expected"), [b[1:] for b in BODIES], ids=[b[0] for b in BODIES])
def test_each_json_object_in_the_body_is_one_event(body, expected):
    outcome = rule().match(post(body))
    assert outcome.response == Respond(200)
    assert events(outcome) == expected


def test_each_event_is_captured_for_the_package():
    outcome = rule().match(post(b'{"a":1}'))
    [capture] = outcome.captures
    assert (capture.kind, capture.package, capture.fields) == (
        "telemetry",
        "pkg-1",
        {"event": {"a": 1}},
    )


def test_the_outcome_names_the_rule_type_and_ref():
    outcome = TelemetryRule(DOMAIN, "pkg-1", "/events", ref="r-9").match(post())
    assert (outcome.rule_type, outcome.rule_ref) == ("telemetry-v1", "r-9")


# --- limits (DECISIONS §7) ---


def padded(size):
    """An object of exactly `size` bytes."""
    prefix = b'{"p":"'
    return prefix + b"x" * (size - len(prefix) - 2) + b'"}'


LIMITS = [
    # (id, rule kwargs, body, status, event count)
    ("exactly 64 KiB", {}, padded(MAX_BODY_BYTES), 200, 1),
    ("one byte over 64 KiB", {}, padded(MAX_BODY_BYTES + 1), 413, 0),
    ("100 events", {}, b"{}" * 100, 200, 100),
    ("101 events", {}, b"{}" * 101, 413, 0),
    ("101 values but 100 objects", {}, b"{}" * 100 + b"1", 200, 100),
    ("configured body limit", {"max_body_bytes": 10}, padded(11), 413, 0),
    ("configured event limit", {"max_events": 2}, b"{}{}{}", 413, 0),
    ("within configured limits", {"max_body_bytes": 10, "max_events": 2}, b"{}{}", 200, 2),
]


@pytest.mark.parametrize(
    ("limits", "body", "status", "count"), [c[1:] for c in LIMITS], ids=[c[0] for c in LIMITS]
)
def test_a_body_above_the_limits_is_refused_with_413_and_nothing_recorded(
    limits, body, status, count
):
    outcome = TelemetryRule(DOMAIN, "pkg-1", "/events", **limits).match(post(body))
    assert outcome.response == Respond(status)
    assert len(outcome.captures) == count


def test_it_never_reads_more_than_one_byte_past_the_limit():
    body = Body(b"{}" * MAX_BODY_BYTES)
    rule().match(post(body))
    assert body.limits == [MAX_BODY_BYTES + 1]


def test_telemetry_rules_never_merge():
    assert rule().merge_with(rule()) is None


@given(st.binary(max_size=512), st.one_of(st.none(), st.text()))
def test_any_body_and_header_give_200_401_or_413(body, authorization):
    outcome = rule(["tok"]).match(post(body, authorization=authorization))
    assert outcome.status in (200, 401, 413)
    assert outcome.response.headers == ()
