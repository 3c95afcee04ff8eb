"""One set of name and path rules for the controller (schema validation) and the host (the engine's model),
and a model that stays linear and iterative on deep and wide documents."""

from __future__ import annotations

import re
import sys
import time
from typing import Any

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._engine import _names
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import ModelError
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import GROUP_PATH_MAX, normalize
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import validate_fleet


def one_group(**fields: Any) -> dict[str, Any]:
    return {"policy_groups": [{"name": "latency", **fields}]}


# (document, path of the error, the shared rule that explains it, the value it explains)
REFUSED = [
    ({"policy_groups": [{"name": "tasks"}]}, "policy_groups[0].name", _names.group_name_problem, "tasks"),
    (one_group(members={"systemd_units": ["app@.service"]}), "policy_groups[0].members.systemd_units[0]",
     _names.unit_name_problem, "app@.service"),
    (one_group(members={"systemd_units": ["multi-user.target"]}), "policy_groups[0].members.systemd_units[0]",
     _names.unit_name_problem, "multi-user.target"),
    (one_group(members={"cgroups": ["/system.slice/my app.service"]}), "policy_groups[0].members.cgroups[0]",
     _names.cgroup_path_problem, "/system.slice/my app.service"),
    (one_group(members={"cgroups": ["/system.slice/api.service "]}), "policy_groups[0].members.cgroups[0]",
     _names.cgroup_path_problem, "/system.slice/api.service "),
    (one_group(members={"cgroups": ["/system.slice/api.service\t"]}), "policy_groups[0].members.cgroups[0]",
     _names.cgroup_path_problem, "/system.slice/api.service\t"),
]


@pytest.mark.parametrize(("doc", "where", "rule", "value"), REFUSED)
def test_host_and_controller_refuse_the_same_values_with_the_same_words(
        doc: dict[str, Any], where: str, rule: Any, value: str) -> None:
    problem = rule(value)
    assert problem is not None
    with pytest.raises(ModelError) as refused:
        normalize(doc)
    assert str(refused.value) == f"{where}: {problem}"
    errors = validate_fleet(doc)
    # the controller also names the group in its path: policy_groups[0] (latency).members...
    assert [(re.sub(r" \([^)]*\)", "", e.path), e.message) for e in errors] == [(where, problem)]


def test_white_space_in_a_cgroup_path_is_named() -> None:
    assert _names.cgroup_path_problem("/a.slice/b c") == (
        "contains white space, which the kernel's bind file cannot carry (it separates paths)")
    assert _names.cgroup_path_problem("/a.slice/b ") is not None


def chain(depth: int) -> list[dict[str, Any]]:
    """``depth`` groups, each the parent of the next, listed child first."""
    groups = [{"name": f"g{i}", **({"parent": f"g{i - 1}"} if i else {})} for i in range(depth)]
    return groups[::-1]


def test_a_deep_chain_listed_child_first_is_resolved_without_recursion() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)
    try:
        policy = normalize({"policy_groups": chain(150)})
    finally:
        sys.setrecursionlimit(limit)
    deepest = next(g for g in policy.groups if g.name == "g149")
    assert deepest.path == "/".join(f"g{i}" for i in range(150))


def test_a_1000_level_chain_is_refused_for_its_path_length_not_a_recursion_error() -> None:
    with pytest.raises(ModelError) as refused:
        normalize({"policy_groups": chain(1000)})
    message = str(refused.value)
    assert message.startswith("policy_groups[")
    assert f"is longer than {GROUP_PATH_MAX} characters" in message


def test_a_cycle_is_still_named_iteratively() -> None:
    doc = {"policy_groups": [{"name": "a", "parent": "c"}, {"name": "b", "parent": "a"}, {"name": "c", "parent": "b"}]}
    with pytest.raises(ModelError, match=r"policy_groups\[0\]\.parent: parent cycle: a -> c -> b -> a"):
        normalize(doc)


def test_path_resolution_is_linear_measured() -> None:
    """Not a timing assertion: prints how long 2,000 and 8,000 groups in chains of 20 take, so a quadratic
    resolution (4x the groups, 16x the time) shows in the test log."""
    times = {}
    for count in (2000, 8000):
        groups = []
        for i in range(count):
            groups.append({"name": f"g{i}", **({"parent": f"g{i - 1}"} if i % 20 else {})})
        start = time.perf_counter()
        policy = normalize({"policy_groups": groups[::-1]})
        times[count] = time.perf_counter() - start
        assert len(policy.groups) == count
    print(f"\nnormalize: 2000 groups {times[2000]:.3f} s, 8000 groups {times[8000]:.3f} s "
          f"(ratio {times[8000] / max(times[2000], 1e-9):.1f} for 4x the groups)")
