"""The groups' tree is resolved once (_hierarchy) and reported alike by its three users: the fleet validator, the
render filter and the engine's model."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.policygroups.core.plugins.filter import render as render_mod
from ansible_collections.policygroups.core.plugins.module_utils._engine import _hierarchy
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import ModelError
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import validate_fleet

BAD = [
    ("duplicate", [{"name": "a"}, {"name": "a"}], "policy_groups[1].name",
     "duplicate group name 'a' (also policy_groups[0]); group names are unique fleet-wide"),
    ("self parent", [{"name": "a", "parent": "a"}], "policy_groups[0].parent", "a group cannot be its own parent"),
    ("absent parent", [{"name": "p", "state": "absent"}, {"name": "c", "parent": "p"}], "policy_groups[1].parent",
     "parent 'p' has state: absent (policy_groups[0]) but this group is present; remove this group too, or keep "
     "its parent"),
    ("cycle entered from outside", [{"name": "d", "parent": "a"}, {"name": "a", "parent": "b"},
                                    {"name": "b", "parent": "a"}],
     "policy_groups[1].parent", "parent cycle: a -> b -> a"),
    ("three-cycle, child first", [{"name": "a", "parent": "c"}, {"name": "b", "parent": "a"},
                                  {"name": "c", "parent": "b"}],
     "policy_groups[0].parent", "parent cycle: a -> c -> b -> a"),
]


def _unnamed(path: str) -> str:
    """policy_groups[1] (c).parent -> policy_groups[1].parent: the validator adds the group's name."""
    head, _sep, tail = path.partition(" (")
    return head + tail[tail.index(")") + 1:] if tail else path


@pytest.mark.parametrize(("case", "groups", "path", "message"), BAD, ids=[b[0] for b in BAD])
def test_three_users_report_the_same_problem(case: str, groups: list[dict[str, Any]], path: str, message: str) -> None:
    tree = _hierarchy.resolve(groups)
    assert [(p.path, p.message) for p in tree.problems] == [(path, message)], case

    validated = validate_fleet({"policy_groups": groups})
    assert [(_unnamed(e.path), e.message) for e in validated] == [(path, message)]

    assert render_mod._structure(groups)[2] == [f"{path}: {message}"]

    with pytest.raises(ModelError) as refused:
        normalize({"policy_groups": groups})
    assert str(refused.value) == f"{path}: {message}"


def test_an_unknown_parent_is_worded_for_the_fleet_and_for_a_host() -> None:
    groups = [{"name": "a", "parent": "nope"}]
    assert _hierarchy.resolve(groups).problems[0].message == (
        "names 'nope', which is not a group in policy_groups (groups: a)")
    assert _hierarchy.resolve(groups, {}).problems[0].message == (
        "names 'nope', which is neither defined in policy_groups nor a group on the host")
    assert _hierarchy.resolve(groups, {"nope": "top/nope"}).paths == {"a": "top/nope/a"}


def test_an_absent_group_may_name_an_unknown_parent_and_resolves_at_the_top() -> None:
    tree = _hierarchy.resolve([{"name": "old", "parent": "gone", "state": "absent"}])
    assert tree.problems == [] and tree.paths == {"old": "old"}
    assert validate_fleet({"policy_groups": [{"name": "old", "parent": "gone", "state": "absent"}]}) == []


def test_each_cycle_once_and_nothing_below_it_resolves() -> None:
    groups = [{"name": "x"}, {"name": "a", "parent": "b"}, {"name": "b", "parent": "a"},
              {"name": "c", "parent": "a"}, {"name": "y", "parent": "x"}]
    tree = _hierarchy.resolve(groups)
    assert [p.kind for p in tree.problems] == [_hierarchy.CYCLE]
    assert tree.paths == {"x": "x", "y": "x/y"} and tree.order == ["x", "y"]


def test_paths_parents_first_for_any_order_and_depth() -> None:
    groups = [{"name": f"g{i}", "parent": f"g{i + 1}"} for i in range(5000)] + [{"name": "g5000"}]
    tree = _hierarchy.resolve(groups)
    assert tree.problems == [] and tree.order[0] == "g5000" and tree.order[-1] == "g0"
    assert tree.paths["g0"].count("/") == 5000


def test_type_errors_are_reported_for_callers_without_the_schema_and_left_to_it_by_the_validator() -> None:
    groups = [{"name": 3}, {"name": "a", "parent": ["b"]}]
    kinds = [p.kind for p in _hierarchy.resolve(groups).problems]
    assert kinds == [_hierarchy.NAME_TYPE, _hierarchy.PARENT_TYPE]
    assert all(kind in _hierarchy.TYPE_KINDS for kind in kinds)
    assert not any("expected a group name" in e.message for e in validate_fleet({"policy_groups": groups}))
