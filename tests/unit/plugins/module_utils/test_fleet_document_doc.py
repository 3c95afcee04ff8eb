"""docs/fleet-document.md stays true to the schema: every field documented, every example checked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from ansible_collections.policygroups.core.plugins.module_utils._fleet._schema import load_schema
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import validate_fleet

DOC = Path(__file__).resolve().parents[4] / "docs" / "fleet-document.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    schema = load_schema()
    while "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def field_paths(node: dict[str, Any], prefix: str = "") -> Iterator[str]:
    node = _resolve(node)
    for name, prop in node.get("properties", {}).items():
        path = prefix + ("." if prefix else "") + name
        yield path
        target = _resolve(prop)
        if target.get("type") == "array" and isinstance(target.get("items"), dict):
            items = _resolve(target["items"])
            if "properties" in items:
                yield from field_paths(items, path + "[]")
        elif "properties" in target:
            yield from field_paths(target, path)


def blocks() -> list[tuple[str, str]]:
    return FENCE.findall(DOC.read_text(encoding="utf-8"))


def test_every_schema_field_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    paths = list(field_paths(load_schema()))
    assert "policy_groups[].members.pids" in paths and "policy_swap_tiers[].start_priority" in paths
    missing = [p for p in paths if "`%s`" % p not in text]
    assert not missing, "fields in the schema but not in docs/fleet-document.md: %s" % missing


def test_documented_fields_exist_in_the_schema() -> None:
    known = set(field_paths(load_schema()))
    documented = set(re.findall(r"`(policy_(?:groups|swap_tiers)(?:\[\])?(?:\.[a-z_]+(?:\[\])?)*)`",
                                DOC.read_text(encoding="utf-8")))
    assert documented - known == set()


def _documents() -> list[tuple[int, Any, str | None]]:
    """(index, parsed YAML, the text block that follows it) for every fleet document example."""
    found = []
    fenced = blocks()
    for index, (lang, body) in enumerate(fenced):
        if lang != "yaml":
            continue
        data = yaml.safe_load(body)
        if isinstance(data, dict) and set(data) & {"policy_groups", "policy_swap_tiers"}:
            following = fenced[index + 1][1] if index + 1 < len(fenced) and fenced[index + 1][0] == "text" else None
            found.append((index, data, following if body.startswith("# invalid") else None))
        else:
            assert body.startswith("- name:"), "yaml block %d is neither a fleet document nor tasks" % index
    return found


@pytest.mark.parametrize("index, data, expected", _documents(), ids=lambda v: str(v) if isinstance(v, int) else "")
def test_examples_validate_as_documented(index: int, data: Any, expected: str | None) -> None:
    errors = [str(e) for e in validate_fleet(data)]
    if expected is None:
        assert errors == [], "example %d should be valid" % index
    else:
        assert errors == expected.strip().splitlines()


def test_there_are_valid_and_invalid_examples() -> None:
    kinds = {example[2] is None for example in _documents()}
    assert kinds == {True, False}
