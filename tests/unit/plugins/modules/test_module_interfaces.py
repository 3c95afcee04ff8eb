"""Interfaces a user can trust: no destructive default, no silent subtree removal."""

from __future__ import annotations

from typing import Any, Callable

from fakekernel import FakeKernel

from ansible_collections.policygroups.core.plugins.modules import policy_group, policy_groups

GROUPS = [
    {"name": "latency", "thp": "never"},
    {"name": "background", "ksm": True},
    {"name": "batch", "parent": "background", "members": {"cgroups": ["/system.slice/b.service"]}},
]


def test_purge_without_groups_is_refused(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    writes = len(kernel.writes)
    result = run_module(policy_groups, {"purge": True})
    assert result["failed"] and "groups" in result["msg"]
    assert len(kernel.writes) == writes and kernel.groups() == ["background", "background/batch", "latency"]


def test_purge_with_an_explicit_empty_list_removes_every_group(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    result = run_module(policy_groups, {"groups": [], "purge": True})
    assert result["changed"] and kernel.groups() == []


def test_changed_parent_is_refused_naming_the_subtree(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    writes = len(kernel.writes)
    for check_mode in (True, False):
        result = run_module(policy_group, {"name": "background", "parent": "latency"}, check_mode=check_mode)
        assert result["failed"] and not result["changed"]
        assert "background/batch" in result["msg"] and "reparent" in result["msg"]
    assert len(kernel.writes) == writes
    assert kernel.groups() == ["background", "background/batch", "latency"]


def test_changed_parent_with_reparent_moves_the_group(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    result = run_module(policy_group, {"name": "background", "parent": "latency", "reparent": True})
    assert result["changed"] and "latency/background" in kernel.groups()
    assert "background/batch" not in kernel.groups()


def test_unchanged_parent_needs_no_reparent(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    result = run_module(policy_group, {"name": "batch", "parent": "background", "thp": "never"})
    assert result["changed"] and not result.get("failed")
