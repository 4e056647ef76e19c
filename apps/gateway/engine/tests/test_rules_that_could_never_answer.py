"""A rule that parses but could never answer a request as it says is refused
where it is saved or imported (validate_rule), naming the field and why;
the routing table still loads such a rule if one was stored before."""

from __future__ import annotations

import pytest

from apps.gateway.engine.manifest import parse_manifest, parse_rule, validate_rule
from apps.gateway.engine.rules import FieldError

FILE = {"type": "file-v1", "domain": "get.acme.test", "package-id": "cli"}
DOCKER = {"type": "docker-v1", "domain": "get.acme.test", "package-id": "app"}

# (rule, field, words of the reason)
NEVER_ANSWERING = [
    (
        {**FILE, "incoming-path": "/{version}/{file}", "outgoing-url": "https://h.test/{vers}"},
        "outgoing-url",
        "{vers}, which incoming-path does not define (it defines {version}, {file})",
    ),
    (
        {
            **FILE,
            "type": "file-v2",
            "incoming-path": "/dl/(?P<ver>[0-9.]+)",
            "outgoing-url": "https://h.test/{version}",
        },
        "outgoing-url",
        "{version}, which incoming-path does not define (it defines {ver})",
    ),
    (
        {**FILE, "incoming-path": "{version}/{file}", "outgoing-url": "https://h.test/{file}"},
        "incoming-path",
        "must start with /",
    ),
    (
        {**FILE, "incoming-path": "/dl/{files*}", "outgoing-url": "https://h.test/x"},
        "incoming-path",
        "never matches",
    ),
    (
        {**DOCKER, "repository-name": "Acme/UPPER case", "registry": "ghcr.io"},
        "repository-name",
        "'Acme/UPPER case' is one no Docker client asks for",
    ),
    (
        {**DOCKER, "repository-name": "acme/app", "registry": "ghcr.io:99999"},
        "registry",
        "has port 99999, which is not a port number",
    ),
    (
        {**FILE, "incoming-path": "/x", "outgoing-url": "https://h.test:99999/x"},
        "outgoing-url",
        "port 99999",
    ),
    (
        {**DOCKER, "package-id": "x" * 300, "repository-name": "a", "registry": "ghcr.io"},
        "package-id",
        "at most 100 characters (300 given)",
    ),
    (
        {**DOCKER, "package-id": "app\N{GRINNING FACE}", "repository-name": "a", "registry": "h"},
        "package-id",
        "not '\N{GRINNING FACE}'",
    ),
    (
        {
            "type": "docker-v2",
            "domain": "get.acme.test",
            "rule-id": "tools x",
            "pattern": "acme/*",
            "registry": "ghcr.io",
        },
        "rule-id",
        "not ' '",
    ),
]


@pytest.mark.parametrize(("rule", "field", "reason"), NEVER_ANSWERING)
def test_a_rule_that_could_never_answer_is_refused_with_its_field_and_reason(rule, field, reason):
    with pytest.raises(FieldError) as refused:
        validate_rule(rule)

    assert refused.value.field == field
    assert reason in refused.value.reason
    assert refused.value.reason.startswith(field)


@pytest.mark.parametrize(("rule", "field", "reason"), NEVER_ANSWERING)
def test_a_manifest_with_one_is_refused_naming_the_rule(rule, field, reason):
    with pytest.raises(ValueError, match=rf"rules\[0\]\.{field}: "):
        parse_manifest({"rules": [rule]})


@pytest.mark.parametrize(
    "rule",
    [r for r, field, _ in NEVER_ANSWERING if field not in ("registry", "outgoing-url")]
    + [NEVER_ANSWERING[0][0]],
)
def test_a_stored_one_still_loads_into_the_routing_table(rule):
    assert parse_rule(rule).type == rule["type"]


@pytest.mark.parametrize(
    "incoming",
    ["/cli/{version}/{file}", "{/segments}", "{+path}", "/dl{?version}", "/exact"],
)
def test_incoming_paths_that_match_a_request_path_are_accepted(incoming):
    variables = [v for v in ("version", "file", "segments", "path") if v in incoming]
    outgoing = "https://h.test/" + "/".join(f"{{{v}}}" for v in variables)

    assert validate_rule({**FILE, "incoming-path": incoming, "outgoing-url": outgoing})


@pytest.mark.parametrize(
    ("regex", "accepted"),
    [("[a-z]*", False), ("x*", False), ("/dl/^", False), ("(/x)?", True), (r"\pL+", True)],
)
def test_a_regex_that_matches_no_request_path_is_refused(regex, accepted):
    rule = {**FILE, "type": "file-v2", "incoming-path": regex}

    if accepted:
        assert validate_rule(rule)
    else:
        with pytest.raises(FieldError, match="incoming-path matches no request path"):
            validate_rule(rule)
