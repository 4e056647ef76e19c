"""Parsing whole manifests: every problem named by rule index and field; unknown keys ignored."""

import pytest

from apps.gateway.engine.manifest import ManifestError, dump_manifest, parse_manifest


def problems(document):
    with pytest.raises(ManifestError) as caught:
        parse_manifest(document)
    return [(p.index, p.field) for p in caught.value.problems]


def test_it_reports_every_broken_rule_at_once():
    document = {
        "rules": [
            {"type": "docker-v1", "domain": "a.test", "package-id": "p", "repository-name": "x"},
            {"type": "pixel-v1", "domain": "a.test", "package-id": "px"},
            {"type": "file-v2", "domain": "a.test", "package-id": "f", "incoming-path": "(?<x"},
        ]
    }

    assert problems(document) == [(0, "registry"), (2, "incoming-path")]


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ("not an object", "type"),
        ({"domain": "a.test"}, "type"),
        ({"type": 7, "domain": "a.test"}, "type"),
        ({"type": "maven-v1", "domain": "a.test"}, "type"),
        ({"type": "pixel-v1", "package-id": "p"}, "domain"),
        ({"type": "pixel-v1", "domain": ["a.test"], "package-id": "p"}, "domain"),
    ],
)
def test_a_rule_that_is_not_a_known_typed_object_names_the_field(rule, field):
    assert problems({"rules": [rule]}) == [(0, field)]


def test_unknown_keys_are_ignored_and_not_exported():
    document = {
        "rules": [{"type": "pixel-v1", "domain": "a.test", "package-id": "px", "colour": "blue"}],
        "comment": "top-level keys are ignored too",
    }

    assert dump_manifest(parse_manifest(document)) == {
        "rules": [
            {"type": "pixel-v1", "domain": "a.test", "package-id": "px", "incoming-path": "/a.png"}
        ]
    }


def test_an_empty_rule_list_is_a_valid_manifest():
    assert parse_manifest({"rules": []}) == []


def test_the_problem_text_names_the_rule_and_field():
    with pytest.raises(ManifestError) as caught:
        parse_manifest({"rules": [{"type": "docker-v1", "domain": "a.test"}]})

    assert str(caught.value).startswith("rules[0].")
