"""The fleet document JSON Schema: well-formed, self-describing, and accepting the model's examples."""

from __future__ import annotations

import json
from typing import Any, Iterator

import jsonschema
import pytest

from ansible_collections.policygroups.core.plugins.module_utils._fleet import _schema
from ansible_collections.policygroups.core.plugins.module_utils._fleet._schema import (
    SchemaUnavailable,
    load_schema,
    validator,
)
from ansible_collections.policygroups.core.plugins.module_utils._fleet._schema_errors import schema_errors

from .fleet_examples import BRIEF_EXAMPLE, FULL_EXAMPLE, doc


def _subschemas(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            if key in ("examples", "default", "enum", "const"):
                continue
            yield from _subschemas(value, "%s/%s" % (path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _subschemas(value, "%s/%d" % (path, index))


def _properties() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, node in _subschemas(load_schema()):
        for name, prop in node.get("properties", {}).items() if path.count("/if") == 0 else ():
            yield "%s/properties/%s" % (path, name), prop


def test_schema_is_valid_draft_2020_12() -> None:
    schema = load_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    jsonschema.Draft202012Validator.check_schema(schema)


def test_every_field_has_description_and_example() -> None:
    missing = []
    for path, prop in _properties():
        if "description" not in prop:
            missing.append(path + " (description)")
        if not prop.get("examples"):
            missing.append(path + " (examples)")
    for name, definition in load_schema()["$defs"].items():
        if "description" not in definition or "examples" not in definition:
            missing.append("$defs/" + name)
    assert not missing, missing


def test_every_example_in_the_schema_is_valid_for_its_field() -> None:
    schema = load_schema()
    registry_schema = dict(schema)
    failures = []
    for path, prop in _properties():
        sub = dict(prop)
        sub["$defs"] = schema["$defs"]
        sub.pop("examples", None)
        check = jsonschema.Draft202012Validator(sub)
        for example in prop.get("examples", []):
            if not check.is_valid(example):
                failures.append((path, example))
    for example in registry_schema["examples"]:
        if not validator().is_valid(example):
            failures.append(("#", example))
    assert not failures


def test_objects_forbid_unknown_fields() -> None:
    for path, node in _subschemas(load_schema()):
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path


@pytest.mark.parametrize("example", [BRIEF_EXAMPLE, FULL_EXAMPLE, {}, {"policy_groups": []}],
                         ids=["brief", "full", "empty", "no-groups"])
def test_schema_accepts_model_examples(example: dict[str, Any]) -> None:
    assert schema_errors(example) == []


def test_swap_is_tiers_or_disabled() -> None:
    for swap, ok in (({"tiers": ["fast"]}, True), ({"enabled": False}, True), ({}, False),
                     ({"enabled": True}, False), ({"tiers": ["fast"], "enabled": False}, False),
                     ({"tiers": []}, False)):
        d = doc()
        d["policy_groups"][0]["swap"] = swap
        assert (schema_errors(d) == []) is ok, swap


@pytest.mark.parametrize("numa, ok", [
    ({"mode": "default"}, True), ({"mode": "local"}, True), ({"mode": "bind", "nodes": "0"}, True),
    ({"mode": "interleave", "nodes": "0,2-3"}, True), ({"mode": "preferred", "nodes": "1"}, True),
    ({"mode": "bind"}, False), ({"mode": "local", "nodes": "0"}, False), ({"nodes": "0"}, False),
    ({"mode": "bind", "nodes": 0}, False), ({"mode": "bind", "nodes": "0 1"}, False),
    ({"mode": "spread", "nodes": "0"}, False),
])
def test_numa_modes_and_nodes(numa: dict[str, Any], ok: bool) -> None:
    d = doc()
    d["policy_groups"][0]["numa"] = numa
    assert (schema_errors(d) == []) is ok


def test_reports_all_errors_not_only_the_first() -> None:
    d = doc()
    d["policy_groups"][0]["thp"] = "sometimes"
    d["policy_groups"][1]["oom_score_adj"] = 5000
    d["policy_groups"][2]["members"]["systemd_units"] = ["nounit"]
    paths = {e.path for e in schema_errors(d)}
    assert paths == {"policy_groups[0].thp", "policy_groups[1].oom_score_adj",
                     "policy_groups[2].members.systemd_units[0]"}


def test_messages_are_explained_not_raw_jsonschema() -> None:
    d = doc()
    d["policy_groups"][0]["name"] = "../../etc"
    d["policy_groups"][1]["parent"] = "a/b"
    d["policy_groups"][2]["swap"] = {}
    for error in schema_errors(d):
        assert "does not match" not in error.message
        assert "is not valid under any of the given schemas" not in error.message
    messages = {e.path: e.message for e in schema_errors(d)}
    assert messages["policy_groups[0].name"] == "contains '..', which could escape the policy root"
    assert "single path component" in messages["policy_groups[1].parent"]
    assert "exactly one of 'tiers'" in messages["policy_groups[2].swap"]


def test_missing_jsonschema_is_reported_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_schema, "jsonschema", None)
    _schema.validator.cache_clear()
    try:
        with pytest.raises(SchemaUnavailable, match="'jsonschema' is required"):
            schema_errors({})
    finally:
        _schema.validator.cache_clear()


def test_missing_schema_file_is_reported_clearly(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setattr(_schema, "schema_path", lambda: str(tmp_path / "nope.json"))
    load_schema.cache_clear()
    _schema.validator.cache_clear()
    try:
        with pytest.raises(SchemaUnavailable, match="cannot read the fleet document schema"):
            schema_errors({})
    finally:
        load_schema.cache_clear()
        _schema.validator.cache_clear()


def test_schema_file_is_formatted_json() -> None:
    with open(_schema.schema_path(), encoding="utf-8") as handle:
        text = handle.read()
    assert text == json.dumps(json.loads(text), indent=2) + "\n"
