"""_names: the stdlib-only safety checks agree with the schema patterns and explain each refusal."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.policygroups.core.plugins.module_utils._engine import _names
from ansible_collections.policygroups.core.plugins.module_utils._fleet._schema import load_schema, python_pattern


def test_patterns_match_the_schema() -> None:
    defs = load_schema()["$defs"]
    assert defs["groupName"]["pattern"] == _names.GROUP_NAME_RE.pattern
    assert defs["tierName"]["pattern"] == _names.TIER_NAME_RE.pattern
    assert defs["unitName"]["pattern"] == _names.UNIT_NAME_RE.pattern
    assert defs["numa"]["properties"]["nodes"]["pattern"] == _names.NODE_LIST_RE.pattern
    assert sorted(defs["groupName"]["allOf"][0]["not"]["enum"]) == sorted(_names.RESERVED_GROUP_NAMES)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=70))
def test_group_name_problem_agrees_with_schema_pattern(name: str) -> None:
    schema_ok = python_pattern(load_schema()["$defs"]["groupName"]["pattern"]).search(name) is not None \
        and name not in _names.RESERVED_GROUP_NAMES
    assert (_names.group_name_problem(name) is None) is schema_ok


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="/.ab\x00\n", max_size=12))
def test_cgroup_path_problem_agrees_with_schema_pattern(path: str) -> None:
    schema_ok = python_pattern(load_schema()["$defs"]["cgroupPath"]["pattern"]).search(path) is not None
    assert (_names.cgroup_path_problem(path) is None) is schema_ok


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab_-@.\\/", max_size=10).map(lambda s: s + ".service"))
def test_unit_name_problem_agrees_with_schema_pattern(name: str) -> None:
    schema_ok = python_pattern(load_schema()["$defs"]["unitName"]["pattern"]).search(name) is not None
    assert (_names.unit_name_problem(name) is None) is schema_ok


@pytest.mark.parametrize("name", ["a", "A0", "batch-jobs", "x_y", "9", "a" * 63])
def test_good_group_names(name: str) -> None:
    assert _names.group_name_problem(name) is None


@pytest.mark.parametrize("nodes, problem", [
    ("0", None), ("0-1", None), ("0,2-3", None), ("3-3", None),
    ("3-1", "range '3-1' is descending; write 1-3"),
    ("", "must be a node list such as '0', '0-1' or '0,2-3' (digits, ',' and '-', no spaces); got ''"),
    ("0,", "must be a node list such as '0', '0-1' or '0,2-3' (digits, ',' and '-', no spaces); got '0,'"),
])
def test_node_lists(nodes: str, problem: str | None) -> None:
    assert _names.node_list_problem(nodes) == problem


def test_tier_names() -> None:
    assert _names.tier_name_problem("fast_1") is None
    assert _names.tier_name_problem("") == "must not be empty"
    assert "at most 15" in (_names.tier_name_problem("x" * 16) or "")
    assert "letters, digits and '_'" in (_names.tier_name_problem("a-b") or "")
    # the kernel's policy.swap.tiers words: a tier of that name would make the file ambiguous
    for word in ("none", "inherit", "default"):
        assert "reserved word" in (_names.tier_name_problem(word) or "")
    assert _names.tier_name_problem("None") is None


def test_long_cgroup_path() -> None:
    path = "/" + "/".join(["a" * 100] * 41)
    assert len(path) > _names.CGROUP_PATH_MAX
    assert "at most 4095" in (_names.cgroup_path_problem(path) or "")


@pytest.mark.parametrize("pattern, text, ok", [
    ("^a$", "a", True), ("^a$", "a\n", False), ("^[$]$", "$", True), (r"^\$$", "$", True),
    (r"^(a|$)b", "b", False), ("^a", "ab", True),
])
def test_python_pattern_has_ecma_end_anchor(pattern: str, text: str, ok: bool) -> None:
    assert (python_pattern(pattern).search(text) is not None) is ok


@pytest.mark.parametrize("check, value", [
    (_names.group_name_problem, "latency\n"), (_names.tier_name_problem, "fast\n"),
    (_names.unit_name_problem, "api.service\n"), (_names.cgroup_path_problem, "/a\n"),
    (_names.node_list_problem, "0\n"),
])
def test_trailing_newline_is_refused(check: object, value: str) -> None:
    assert check(value) is not None  # type: ignore[operator]
