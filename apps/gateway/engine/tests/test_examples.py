"""Every rule type gets a concrete example request that the rule itself answers."""

import json
from pathlib import Path

import pytest

from apps.gateway.engine.examples import example_request
from apps.gateway.engine.manifest import parse_rule

MANIFEST = Path(__file__).parents[2] / "tests" / "manifests" / "every-rule-type.json"
RULES = json.loads(MANIFEST.read_text())["rules"]


@pytest.mark.parametrize("rule", RULES, ids=[rule["type"] for rule in RULES])
def test_every_rule_of_the_manifest_answers_its_example(rule):
    engine_rule = parse_rule(rule)

    example = example_request(engine_rule)

    assert example is not None
    assert "{" not in example.target
    assert engine_rule.match(example.request(engine_rule.domain)) is not None


@pytest.mark.parametrize(
    ("incoming", "target"),
    [
        ("/cli/{version}/{file}", "/cli/1.2.0/example-1.2.0.tar.gz"),
        ("/dl{?version}", "/dl?version=1.2.0"),
        ("{+path}", "/example"),
    ],
)
def test_template_variables_are_filled_with_values_that_read_as_real(incoming, target):
    rule = parse_rule(
        {"type": "file-v1", "domain": "h.test", "package-id": "p", "incoming-path": incoming}
    )

    assert example_request(rule).target == target


def test_a_regexs_named_groups_are_filled_and_its_anchors_kept():
    rule = parse_rule(
        {
            "type": "file-v2",
            "domain": "h.test",
            "package-id": "p",
            "incoming-path": "^/dl/(?P<ver>[0-9.]+)/(?<file>[^/]+)$",
        }
    )

    assert example_request(rule).target == "/dl/1.2.0/example-1.2.0.tar.gz"
