"""python-v1 rules: the manifest form, merging, and the ETag formula
(GATEWAY-REFERENCE §2.2, §3.4, §8.3, §8.4; GATEWAY-DECISIONS §4)."""

from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import pytest

from apps.gateway.engine.http import Request
from apps.gateway.engine.python import (
    HashValue,
    PythonFileRule,
    PythonRepository,
    normalize_name,
    page_etag,
)
from apps.gateway.engine.rules import ORDER_PYTHON, FieldError, Rule

DOMAIN = "py.example.com"

MINIMAL = {
    "type": "python-v1",
    "domain": DOMAIN,
    "package-name": "numpy",
    "file-name": "numpy-1.0.tar.gz",
    "version": "1.0",
    "backend-url": "https://files.example.org/numpy-1.0.tar.gz",
    "package-id": "pkg-numpy",
}

FULL = {
    **MINIMAL,
    "hash-value": {"type": "sha256", "hash": "abc123"},
    "gpg-sig": False,
    "requires-python": ">=3.8",
    "backend-simple-index-url": "https://index.example.org/simple/",
}

# The reference's root page listing only numpy, and its golden ETag (§8.3).
REFERENCE_NUMPY_ROOT = (
    b'<!DOCTYPE html><html><body>\n<a href="/simple/numpy/">numpy</a><br>\n</body></html>'
)
REFERENCE_NUMPY_ROOT_ETAG = "V5vrPPiIHdnkkoBivA0iBAHsMgm_e-IFA0AhY9HoOEw="


def python_rule(ref: str = "", **fields: Any) -> PythonFileRule:
    """A rule read from MINIMAL with `fields` (snake_case keys) overriding it."""
    data = {**MINIMAL, **{key.replace("_", "-"): value for key, value in fields.items()}}
    return replace(PythonFileRule.from_manifest(data), ref=ref)


def merge_all(*rules: Rule) -> Rule:
    """What the compile step does with a run of adjacent python rules."""
    merged = rules[0]
    for rule in rules[1:]:
        result = merged.merge_with(rule)
        assert result is not None
        merged = result
    return merged


def get(path: str) -> Request:
    return Request("GET", DOMAIN, path)


@dataclass(frozen=True)
class OtherRule(Rule):
    type: ClassVar[str] = "other"
    order: ClassVar[int] = ORDER_PYTHON + 1


# Manifest form


def test_it_reads_every_field_of_a_python_rule():
    rule = PythonFileRule.from_manifest({**FULL, "owner": "someone", "unknown": 1})

    assert rule == PythonFileRule(
        DOMAIN,
        package_name="numpy",
        file_name="numpy-1.0.tar.gz",
        version="1.0",
        backend_url="https://files.example.org/numpy-1.0.tar.gz",
        package_id="pkg-numpy",
        hash_value=HashValue("sha256", "abc123"),
        gpg_sig=False,
        requires_python=">=3.8",
        backend_simple_index_url="https://index.example.org/simple/",
    )


def test_it_is_a_python_v1_rule_sorted_after_file_v2_in_manifest_order():
    rule = PythonFileRule.from_manifest(MINIMAL)

    assert (rule.type, rule.order, rule.sort_key()) == ("python-v1", ORDER_PYTHON, ())


@pytest.mark.parametrize("data", [MINIMAL, FULL], ids=["minimal", "full"])
def test_it_writes_the_manifest_back_in_spec_table_order_and_round_trips(data):
    rule = PythonFileRule.from_manifest(data)

    manifest = rule.to_manifest()

    assert manifest == data
    assert list(manifest) == list(data)
    assert PythonFileRule.from_manifest(manifest) == rule


def test_it_drops_owner_and_unknown_keys_when_writing_the_manifest():
    rule = PythonFileRule.from_manifest({**MINIMAL, "owner": "someone", "extra": True})

    assert rule.to_manifest() == MINIMAL


@pytest.mark.parametrize(("given", "read"), [(None, None), (True, True), (False, False)])
def test_it_keeps_gpg_sig_absent_apart_from_false(given, read):
    rule = PythonFileRule.from_manifest({**MINIMAL, "gpg-sig": given})

    assert rule.gpg_sig is read
    assert rule.to_manifest().get("gpg-sig") is read


@pytest.mark.parametrize(
    "field", ["domain", "package-name", "file-name", "version", "backend-url", "package-id"]
)
def test_it_rejects_a_rule_missing_a_required_field_naming_it(field):
    data = {key: value for key, value in MINIMAL.items() if key != field}

    with pytest.raises(FieldError) as raised:
        PythonFileRule.from_manifest(data)

    assert raised.value.field == field


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("version", 1.0, "version"),
        ("backend-url", None, "backend-url"),
        ("gpg-sig", "yes", "gpg-sig"),
        ("requires-python", 3, "requires-python"),
        ("backend-simple-index-url", ["x"], "backend-simple-index-url"),
        ("hash-value", "sha256:abc", "hash-value"),
        ("hash-value", {"type": "sha256"}, "hash-value.hash"),
        ("hash-value", {"hash": "abc"}, "hash-value.type"),
        ("hash-value", {"type": 256, "hash": "abc"}, "hash-value.type"),
        ("hash-value", {"type": "sha256", "hash": None}, "hash-value.hash"),
    ],
)
def test_it_rejects_an_invalid_field_naming_it(key, value, field):
    with pytest.raises(FieldError) as raised:
        PythonFileRule.from_manifest({**MINIMAL, key: value})

    assert raised.value.field == field


# Merging


def test_adjacent_python_rules_merge_into_one_repository_in_manifest_order():
    first, second, third = python_rule("1"), python_rule("2"), python_rule("3")

    merged = merge_all(first, second, third)

    assert isinstance(merged, PythonRepository)
    assert merged.rules == (first, second, third)
    assert (merged.type, merged.order, merged.domain) == ("python-v1", ORDER_PYTHON, DOMAIN)


@pytest.mark.parametrize(
    "rule", [python_rule(), merge_all(python_rule(), python_rule())], ids=["rule", "repository"]
)
def test_python_rules_do_not_merge_with_other_rule_types(rule):
    assert rule.merge_with(OtherRule(DOMAIN)) is None


def test_the_first_rule_wins_for_a_duplicate_file_name():
    repository = merge_all(
        python_rule("first", backend_url="https://a.example/x.tar.gz"),
        python_rule("second", backend_url="https://b.example/x.tar.gz"),
    )

    outcome = repository.match(get("/simple/numpy/numpy-1.0.tar.gz"))

    assert outcome.response.location == "https://a.example/x.tar.gz"
    assert outcome.rule_ref == "first"
    assert repository.match(get("/simple/numpy/")).response.body.count(b"<a ") == 1


def test_names_that_normalise_alike_are_one_project_whose_first_rule_gives_id_and_ref():
    repository = merge_all(
        python_rule("first", package_name="Foo.Bar_baz", package_id="pkg-1", file_name="a.tgz"),
        python_rule("second", package_name="foo-bar-baz", package_id="pkg-2", file_name="b.tgz"),
    )

    outcome = repository.match(get("/simple/foo-bar-baz/"))

    assert outcome.captures[0].package == "pkg-1"
    assert outcome.rule_ref == "first"
    assert outcome.response.body.count(b"<a ") == 2
    assert repository.match(get("/simple/")).response.body.count(b"<a ") == 1


def test_a_single_unmerged_rule_serves_as_a_one_file_repository():
    rule = python_rule("only")

    assert rule.match(get("/simple/")).response.body == REFERENCE_NUMPY_ROOT
    assert rule.match(get("/simple/numpy/")).status == 200
    assert rule.match(get("/simple/numpy/numpy-1.0.tar.gz")).status == 307


# Names and ETags


@pytest.mark.parametrize(
    ("name", "normalised"),
    [
        ("numpy", "numpy"),
        ("Foo.Bar_baz", "foo-bar-baz"),
        ("FOO--BAR", "foo-bar"),
        ("a._-b", "a-b"),
        ("Django", "django"),
    ],
)
def test_names_are_normalised_as_pep_503_says(name, normalised):
    assert normalize_name(name) == normalised


def test_the_etag_formula_gives_the_reference_golden_value():
    assert page_etag(b"scarf-python-rule", REFERENCE_NUMPY_ROOT) == REFERENCE_NUMPY_ROOT_ETAG


def test_a_root_page_listing_only_numpy_is_byte_identical_to_the_reference():
    outcome = python_rule().match(get("/simple/"))

    assert outcome.response.body == REFERENCE_NUMPY_ROOT
    assert ("Etag", f'"{REFERENCE_NUMPY_ROOT_ETAG}"') in outcome.response.headers


def test_the_project_etag_hashes_the_backend_urls_in_page_order_and_the_page():
    repository = merge_all(
        python_rule(file_name="b.tar.gz", backend_url="https://x/b"),
        python_rule(file_name="a.tar.gz", backend_url="https://x/a"),
    )
    response = repository.match(get("/simple/numpy/")).response
    digest = hashlib.sha256(
        b"scarf-python-package" + b"https://x/a" + b"https://x/b" + response.body
    )

    assert ("Etag", f'"{urlsafe_b64encode(digest.digest()).decode()}"') in response.headers


def test_changing_a_backend_url_changes_the_project_etag_but_not_the_page():
    before = python_rule(backend_url="https://x/1").match(get("/simple/numpy/")).response
    after = python_rule(backend_url="https://x/2").match(get("/simple/numpy/")).response

    assert before.body == after.body
    assert dict(before.headers)["Etag"] != dict(after.headers)["Etag"]
