"""The engine's work grows linearly with the number of groups (not a timing test).

A host of 10,000 groups is planned in check mode on every drift audit; work that compares every group with every
other one made that take over a minute (removing the descendants of purged groups) where the rest takes about a
second. Each test counts the bytecode instructions and builtin calls one step makes (deterministic, whatever the
machine's load) for n and 8n groups: linear work does about 8 times as much, quadratic work up to 64 times.
"""

from __future__ import annotations

import sys
from typing import Any, Callable

from ansible_collections.policygroups.core.plugins.module_utils._engine._model import INHERIT, POLICY_KEYS, normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._plan import Operation, plan
from ansible_collections.policygroups.core.plugins.module_utils._engine._project import project
from ansible_collections.policygroups.core.plugins.module_utils._engine._state import Capabilities, GroupState, HostState

FEATURES = (*POLICY_KEYS, "bind")
SMALL, LARGE = 200, 1600
LINEAR_BOUND = 12.0  # LARGE / SMALL is 8: linear work stays near 8, quadratic work heads for 64


def calls(step: Callable[[], Any]) -> int:
    """How much work ``step()`` does: the bytecode instructions it runs (``sys.settrace`` opcode events, so a
    loop inside one function counts as much as calls do) plus the builtin functions it calls."""
    count = 0

    def trace(frame: Any, event: str, _arg: Any) -> Any:
        nonlocal count
        count += 1
        if event == "call":
            frame.f_trace_opcodes = True
        return trace

    def profile(_frame: Any, event: str, _arg: Any) -> None:
        nonlocal count
        if event == "c_call":
            count += 1

    # Twice, counting the second run: the first traced run of a code object counts fewer events (the
    # interpreter instruments code for opcode events as it goes). Every step here is pure, so both do the same.
    for _run in range(2):
        count = 0
        sys.settrace(trace)
        sys.setprofile(profile)
        try:
            step()
        finally:
            sys.setprofile(None)
            sys.settrace(None)
    return count


def growth(make_step: Callable[[int], Callable[[], Any]]) -> float:
    """Calls for LARGE groups over calls for SMALL groups (the steps are built outside the count)."""
    small, large = make_step(SMALL), make_step(LARGE)
    return calls(large) / calls(small)


def names(count: int, prefix: str) -> list[dict[str, Any]]:
    """``count`` groups, every third a child of the one before it (so there are nested paths)."""
    items: list[dict[str, Any]] = []
    for i in range(count):
        item: dict[str, Any] = {"name": f"{prefix}{i:05d}", "thp": "never", "members": {"pids": [10_000 + i]}}
        if i % 3 == 2:
            item["parent"] = f"{prefix}{i - 1:05d}"
        items.append(item)
    return items


def host(count: int) -> HostState:
    """A host holding the groups ``names(count, "old")`` with one member process each."""
    policy = normalize({"policy_groups": names(count, "old")})
    groups = {
        g.path: GroupState(path=g.path, policies=dict.fromkeys(POLICY_KEYS, INHERIT), pids=g.members.pids)
        for g in policy.groups
    }
    return HostState(Capabilities("policyfs", True, None, 1, FEATURES), None, dict(sorted(groups.items())))


def test_normalising_nested_groups_is_linear() -> None:
    def step(count: int) -> Callable[[], Any]:
        doc = {"policy_groups": names(count, "g")[::-1]}
        return lambda: normalize(doc)

    assert growth(step) < LINEAR_BOUND


def test_purging_every_group_of_a_large_host_is_linear() -> None:
    """Every group on the host is replaced: the old ones (and their children) are removed by purge."""

    def step(count: int) -> Callable[[], Any]:
        actual = host(count)
        wanted = normalize({"policy_groups": [dict(g, members={}) for g in names(count, "new")]})
        return lambda: plan(wanted, actual, purge=True)

    assert growth(step) < LINEAR_BOUND
    # and the plan itself is complete: each old group's members moved out before it goes, children first
    actual = host(6)
    ops = plan(normalize({"policy_groups": []}), actual, purge=True)
    assert [(op.op, op.group) for op in ops if op.op == "remove_group"] == [
        ("remove_group", "old00001/old00002"), ("remove_group", "old00004/old00005"), ("remove_group", "old00000"),
        ("remove_group", "old00001"), ("remove_group", "old00003"), ("remove_group", "old00004")]


def test_projecting_many_joins_is_linear() -> None:
    """Check mode's ``after``: each joined process leaves the group that held it (found without a scan)."""

    def step(count: int) -> Callable[[], Any]:
        actual = host(count)
        paths = list(actual.groups)
        # every process moves to the next group: one join per group, each taking the PID from another group
        ops = [Operation("join_pid", paths[(i + 1) % count], "cgroup.procs", None, 10_000 + i) for i in range(count)]
        return lambda: project(actual, ops)

    assert growth(step) < LINEAR_BOUND
    actual = host(3)
    paths = list(actual.groups)
    after = project(actual, [Operation("join_pid", paths[1], "cgroup.procs", None, 10_000)])
    assert after.groups[paths[0]].pids == ()
    assert after.groups[paths[1]].pids == (10_000, 10_001)
