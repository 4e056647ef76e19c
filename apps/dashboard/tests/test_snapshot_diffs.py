"""Snapshots compared field by field, as the revision page shows them."""

from apps.dashboard.snapshots import compare, flatten


def rule(rule_id: int, url: str) -> dict:
    return {"id": rule_id, "position": 0, "rule": {"type": "file-v1", "outgoing-url": url}}


def test_nested_fields_are_named_by_their_path():
    assert flatten({"rule": {"type": "file-v1"}, "position": 3}) == {
        ("rule", "type"): "file-v1",
        ("position",): "3",
    }


def test_rules_are_keyed_by_id_so_adding_one_changes_nothing_else():
    before = {"rules": [rule(1, "https://a")]}
    after = {"rules": [rule(2, "https://b"), rule(1, "https://a")]}

    changed = {c.field: c.kind for c in compare(before, after) if c.changed}

    assert changed == {
        "rules › #2 › id": "added",
        "rules › #2 › position": "added",
        "rules › #2 › rule › outgoing-url": "added",
        "rules › #2 › rule › type": "added",
    }


def test_a_list_of_plain_values_is_one_value():
    [change] = compare({"tokens": ["a"]}, {"tokens": ["a", "b"]})

    assert (change.field, change.before, change.after) == ("tokens", '["a"]', '["a", "b"]')


def test_a_deletion_removes_every_field():
    changes = compare(rule(1, "https://a"), None)

    assert {c.kind for c in changes} == {"removed"}
    assert all(c.after is None for c in changes)


def test_unchanged_fields_are_kept_for_context():
    kinds = {c.field: c.kind for c in compare(rule(1, "https://a"), rule(1, "https://b"))}

    assert kinds["rule › type"] == "same"
    assert kinds["rule › outgoing-url"] == "changed"
