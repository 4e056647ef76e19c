"""Fuzzing the manifest parser: any JSON document gives either rules or a list
of problems that each name a field, never another exception; what parses
dumps to a manifest that parses back to the same rules."""

from __future__ import annotations

import json
import os

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from apps.gateway.engine.manifest import RULE_TYPES, ManifestError, dump_manifest, parse_manifest

# CI's budget; FUZZ_EXAMPLES=20000 searches longer on a workstation.
EXAMPLES = settings(max_examples=int(os.environ.get("FUZZ_EXAMPLES", "200")), deadline=None)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

FIELDS = [
    "domain", "package-id", "package-name", "owner", "incoming-path", "outgoing-url",
    "repository-name", "registry", "always-proxy", "rule-id", "pattern", "file-name", "version",
    "backend-url", "hash-value", "requires-python", "gpg-sig", "backend-simple-index-url",
    "access-tokens", "redirect-target-domain",
]  # fmt: skip
# Plausible values for those fields, valid and not, so that parsing gets past
# the type checks into each field's own validation.
PLAUSIBLE = st.sampled_from(
    [
        "get.acme.test",
        "/cli/{version}/{file}",
        "/{+path}",
        "^/docs/(?<page>[a-z]+)$",
        "(?<unclosed",
        "https://dl.example.com/{file}",
        "https://dl.example.com{+path}",
        "https://user@dl.example.com/x",
        "http://[::1]:8080/x",
        "ghcr.io",
        "http://127.0.0.1:5000",
        "acme/*",
        "{a,b",
        "acme_tool-1.0-py3-none-any.whl",
        "1.0",
        ">=3.9",
        "",
        " ",
        "\u00e9\u2713",
        "/x\r\nLocation: https://evil.test/",
    ]
)
field_values = st.one_of(PLAUSIBLE, json_values, st.lists(PLAUSIBLE, max_size=3))
hash_values = st.fixed_dictionaries(
    {"type": st.sampled_from(["sha256", "md5", "crc32", ""]), "hash": st.text("0123456789abcdef")}
)
rule_objects = st.builds(
    lambda rule_type, fields: {"type": rule_type, **fields},
    st.sampled_from(sorted(RULE_TYPES)) | json_values,
    st.dictionaries(
        st.sampled_from(FIELDS), field_values | hash_values, min_size=1, max_size=len(FIELDS)
    ),
)
# One valid rule of each type, then mutated: fields dropped, replaced or added,
# so that many documents parse and the rest fail deep in one type's checks.
VALID_RULES = [
    {"type": "docker-v1", "domain": "get.acme.test", "package-id": "app",
     "repository-name": "acme/app", "registry": "ghcr.io"},
    {"type": "docker-v2", "domain": "get.acme.test", "rule-id": "tools", "pattern": "acme/tool-*",
     "registry": "registry.hub.docker.com", "always-proxy": True},
    {"type": "file-v1", "domain": "get.acme.test", "package-id": "cli",
     "incoming-path": "/cli/{version}/{file}",
     "outgoing-url": "https://github.com/acme/cli/releases/download/v{version}/{file}"},
    {"type": "file-v2", "domain": "get.acme.test", "package-id": "docs",
     "incoming-path": "^/docs/(?<page>[a-z]+)$", "outgoing-url": "https://docs.acme.example/{page}"},
    {"type": "python-v1", "domain": "get.acme.test", "package-id": "tool",
     "package-name": "acme-tool", "file-name": "acme_tool-1.0-py3-none-any.whl", "version": "1.0",
     "backend-url": "https://files.example.com/acme_tool-1.0-py3-none-any.whl",
     "hash-value": {"type": "sha256", "hash": "0123456789abcdef" * 4}, "requires-python": ">=3.9"},
    {"type": "python-index-v1", "domain": "get.acme.test", "package-id": "hello",
     "package-name": "acme-hello", "backend-simple-index-url": "https://index.example.org/simple/"},
    {"type": "npm-v1", "domain": "get.acme.test", "package-id": "greet",
     "package-name": "acme-greet", "registry": "https://registry.example.org/"},
    {"type": "telemetry-v1", "domain": "get.acme.test", "package-id": "telemetry",
     "incoming-path": "/events", "access-tokens": ["s3cret-token"]},
    {"type": "pixel-v1", "domain": "get.acme.test", "package-id": "readme-pixel"},
    {"type": "catch-all-v1", "domain": "www.acme.test", "package-id": "website",
     "redirect-target-domain": "acme.example"},
]  # fmt: skip


@st.composite
def mutated_rules(draw):
    rule = dict(draw(st.sampled_from(VALID_RULES)))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):
        key = draw(st.sampled_from(sorted(rule)) | st.sampled_from(FIELDS))
        if draw(st.booleans()):
            rule.pop(key, None)
        else:
            rule[key] = draw(field_values | hash_values)
    return rule


documents = st.one_of(
    json_values,
    st.fixed_dictionaries({"rules": json_values}),
    st.fixed_dictionaries({"rules": st.lists(rule_objects | json_values, max_size=4)}),
    st.fixed_dictionaries({"rules": st.lists(mutated_rules(), max_size=4)}),
)


def parse(document):
    """(rules, None) or (None, problems): anything else escapes and fails the test."""
    try:
        return parse_manifest(document), None
    except ManifestError as error:
        return None, error.problems


@EXAMPLES
@given(documents)
@example({"rules": [{"type": "file-v1", "domain": "d", "incoming-path": "{", "package-id": 1}]})
@example({"rules": [None, [], {"type": ["file-v1"]}]})
@example({"rules": {"0": {}}})
def test_any_document_gives_rules_or_problems_naming_fields(document):
    rules, problems = parse(document)

    event("parsed" if problems is None else "refused")
    if problems is None:
        return
    assert problems
    listed = document.get("rules") if isinstance(document, dict) else None
    count = len(listed) if isinstance(listed, list) else 0
    for problem in problems:
        assert isinstance(problem.field, str)
        assert problem.field
        assert problem.reason
        assert problem.index is None or 0 <= problem.index < count
        assert str(problem).startswith("manifest." if problem.index is None else "rules[")


@EXAMPLES
@given(st.lists(mutated_rules() | rule_objects, min_size=1, max_size=3))
def test_what_parses_dumps_to_json_that_parses_back_to_the_same_rules(rule_list):
    rules, problems = parse({"rules": rule_list})
    event("parsed" if problems is None else "refused")
    if problems is not None:
        return

    dumped = json.loads(json.dumps(dump_manifest(rules)))

    assert parse_manifest(dumped) == rules
    assert dump_manifest(parse_manifest(dumped)) == dumped
