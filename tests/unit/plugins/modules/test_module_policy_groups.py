"""policy_groups / policy_group modules: check mode exact and write-free, idempotence, failure reporting."""

from __future__ import annotations

import errno as E
from typing import Any, Callable

from fakekernel import ALL_FEATURES, POLICY_ROOT, FakeKernel

from ansible_collections.policygroups.core.plugins.modules import policy_group, policy_groups

GROUPS = [
    {"name": "latency", "description": "api", "swap": {"enabled": False}, "thp": "never", "oom_score_adj": -500,
     "members": {"cgroups": ["/system.slice/api.service"], "pids": [100]}},
    {"name": "background", "ksm": True},
    {"name": "batch", "parent": "background", "zswap_writeback": False, "numa": {"mode": "bind", "nodes": "0"},
     "members": {"systemd_units": ["report.service"]}},
]


def test_check_then_apply_then_noop(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    checked = run_module(policy_groups, {"groups": GROUPS}, check_mode=True)
    assert checked["changed"] and kernel.writes == [] and kernel.groups() == []
    assert [c["op"] for c in checked["changes"]] == [
        "create_group", "set_policy", "create_group", "set_policy", "set_policy", "set_policy",
        "create_group", "set_policy", "set_policy", "bind", "bind", "join_pid"]
    assert checked["diff"]["before"] == {}
    assert checked["diff"]["after"]["latency"] == {
        "policies": {"thp": "never", "ksm": "inherit", "oom_score_adj": "-500", "swap_tiers": "none",
                     "zswap_writeback": "inherit", "numa": "inherit", "mem_priority": "inherit"},
        "settings": {"thp": "never", "oom_score_adj": -500, "swap": {"enabled": False}},
        "members": {"cgroups": ["/system.slice/api.service"], "systemd_units": [], "pids": [100]}}
    applied = run_module(policy_groups, {"groups": GROUPS})
    assert applied["changed"] and applied["changes"] == checked["changes"] and applied["diff"] == checked["diff"]
    assert applied["groups"]["background/batch"]["members"]["cgroups"] == ["/system.slice/report.service"]
    assert kernel.value("background/batch", "numa") == "bind:0"
    again = run_module(policy_groups, {"groups": GROUPS})
    assert not again["changed"] and again["changes"] == [] and again["rc_exit"] == 0
    assert run_module(policy_groups, {"groups": GROUPS}, check_mode=True)["changed"] is False


def test_drift_is_reported_in_check_mode(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    kernel.write("/sys/fs/cgroup/policy/latency/policy.thp", "always")
    writes = len(kernel.writes)
    drift = run_module(policy_groups, {"groups": GROUPS}, check_mode=True)
    assert drift["changed"] and drift["changes"] == [
        {"op": "set_policy", "group": "latency", "key": "thp", "before": "always", "after": "never"}]
    assert drift["diff"]["before"]["latency"]["policies"]["thp"] == "always"
    assert len(kernel.writes) == writes


def test_purge(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    result = run_module(policy_groups, {"groups": GROUPS[:1], "purge": True})
    assert [(c["op"], c["group"]) for c in result["changes"]] == [
        ("unbind", "background/batch"), ("remove_group", "background/batch"), ("remove_group", "background")]
    assert kernel.groups() == ["latency"]


def test_failure_reports_applied_and_failed(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    kernel.fail_next["background/policy.ksm"] = E.EIO
    result = run_module(policy_groups, {"groups": GROUPS})
    assert result["failed"] and result["rc_exit"] == 1 and result["changed"]
    assert result["failed_operation"] == {"op": "set_policy", "group": "background", "key": "ksm",
                                          "before": "inherit", "after": "1"}
    assert [c["op"] for c in result["applied"]] == ["create_group"]
    assert "Input/output error" in result["msg"]


def test_errors_before_writing(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    bad = run_module(policy_groups, {"groups": [{"name": "x", "parent": "nope"}]})
    assert bad["failed"] and "policy_groups[0].parent: names 'nope', which is neither defined" in bad["msg"]
    gone = run_module(policy_groups, {"groups": [{"name": "x", "members": {"pids": [999]}}]})
    assert gone["failed"] and "process 999 does not exist" in gone["msg"]
    assert kernel.writes == []
    skipped = run_module(policy_groups, {"groups": [{"name": "x", "members": {"pids": [999]}}], "missing_members": "skip"})
    assert skipped["changed"] and skipped["skipped_members"] == ["group 'x': process 999 does not exist"]


def test_not_available(tmp_path: Any, run_module: Callable[..., dict[str, Any]], kernel: FakeKernel) -> None:
    import shutil

    shutil.rmtree(kernel.real("/sys/fs/cgroup/policy"))
    result = run_module(policy_groups, {"groups": GROUPS})
    assert result["failed"] and "nothing is mounted at /sys/fs/cgroup/policy" in result["msg"]


def test_single_group_module(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    child = {"name": "pinned", "parent": "latency", "swap": {"enabled": False}}
    checked = run_module(policy_group, child, check_mode=True)
    assert [(c["op"], c["group"]) for c in checked["changes"]] == [("create_group", "latency/pinned"),
                                                                   ("set_policy", "latency/pinned")]
    assert run_module(policy_group, child)["changed"]
    assert not run_module(policy_group, child)["changed"]
    assert "background" in kernel.groups()  # others untouched
    removed = run_module(policy_group, {"name": "background", "state": "absent"})
    assert [(c["op"], c["group"]) for c in removed["changes"]] == [
        ("unbind", "background/batch"), ("remove_group", "background/batch"), ("remove_group", "background")]
    assert not run_module(policy_group, {"name": "background", "state": "absent"})["changed"]
    gone_parent = run_module(policy_group, {"name": "batch", "parent": "background", "state": "absent"})
    assert gone_parent["rc_exit"] == 0 and not gone_parent["changed"]


PRIORITY_GROUPS = [
    {"name": "background", "mem_priority": "low", "members": {"cgroups": ["/system.slice/report.service"]}},
    {"name": "latency", "mem_priority": "high", "members": {"systemd_units": ["api.service"]}},
]


def test_mem_priority_check_mode_exact_then_apply_then_noop(kernel: FakeKernel,
                                                            run_module: Callable[..., dict[str, Any]]) -> None:
    checked = run_module(policy_groups, {"groups": PRIORITY_GROUPS}, check_mode=True)
    assert checked["changed"] and kernel.writes == [] and kernel.groups() == []
    assert [c for c in checked["changes"] if c["op"] == "set_policy"] == [
        {"op": "set_policy", "group": "background", "key": "mem_priority", "before": "inherit", "after": "low"},
        {"op": "set_policy", "group": "latency", "key": "mem_priority", "before": "inherit", "after": "high"}]
    assert checked["diff"]["after"]["background"]["policies"]["mem_priority"] == "low"
    applied = run_module(policy_groups, {"groups": PRIORITY_GROUPS})
    assert applied["changes"] == checked["changes"] and applied["diff"] == checked["diff"]
    assert kernel.value("background", "mem_priority") == "low" and kernel.value("latency", "mem_priority") == "high"
    again = run_module(policy_groups, {"groups": PRIORITY_GROUPS})
    assert not again["changed"] and again["changes"] == []
    # drift by hand is reported exactly in check mode, and repaired by the next run
    kernel.write(f"{POLICY_ROOT}/latency/policy.mem_priority", "normal")
    drift = run_module(policy_groups, {"groups": PRIORITY_GROUPS}, check_mode=True)
    assert drift["changes"] == [
        {"op": "set_policy", "group": "latency", "key": "mem_priority", "before": "normal", "after": "high"}]
    assert kernel.value("latency", "mem_priority") == "normal"
    assert run_module(policy_groups, {"groups": PRIORITY_GROUPS})["changed"]
    assert not run_module(policy_groups, {"groups": PRIORITY_GROUPS}, check_mode=True)["changed"]


def test_mem_priority_single_group_module_and_bad_value(kernel: FakeKernel,
                                                        run_module: Callable[..., dict[str, Any]]) -> None:
    group = {"name": "batch", "mem_priority": "low", "members": {"cgroups": ["/system.slice"]}}
    checked = run_module(policy_group, group, check_mode=True)
    assert [(c["op"], c["key"], c["after"]) for c in checked["changes"]] == [
        ("create_group", None, None), ("set_policy", "mem_priority", "low"), ("bind", "bind", "/system.slice")]
    assert run_module(policy_group, group)["changed"] and not run_module(policy_group, group)["changed"]
    bad = run_module(policy_group, {**group, "mem_priority": "urgent"})
    assert bad["failed"] and "mem_priority" in bad["msg"] and "low, normal, high" in bad["msg"]
    assert kernel.value("batch", "mem_priority") == "low"


def without_mem_priority(kernel: FakeKernel) -> tuple[str, ...]:
    """The simulated host becomes a reference kernel built before policy.mem_priority."""
    features = tuple(f for f in ALL_FEATURES if f != "mem_priority")
    kernel.spec.features = features
    with open(kernel.real(f"{POLICY_ROOT}/policy.features"), "w", encoding="utf-8") as handle:
        handle.write(" ".join(features) + "\n")
    return features


def test_mem_priority_on_a_kernel_without_it(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    listed = " ".join(without_mem_priority(kernel))
    refused = run_module(policy_groups, {"groups": PRIORITY_GROUPS})
    assert refused["failed"] and not refused["changed"] and kernel.writes == [] and kernel.groups() == []
    assert refused["unsupported"] == [
        {"group": "background", "policy": "mem_priority",
         "reason": f"this kernel has no mem_priority policy (policy.features: {listed})"},
        {"group": "latency", "policy": "mem_priority",
         "reason": f"this kernel has no mem_priority policy (policy.features: {listed})"}]
    dropped = run_module(policy_groups, {"groups": PRIORITY_GROUPS, "on_unsupported": "drop"})
    assert dropped["changed"] and [u["policy"] for u in dropped["unsupported"]] == ["mem_priority", "mem_priority"]
    assert not any(c["key"] == "mem_priority" for c in dropped["changes"])
    assert dropped["unsupported"] == refused["unsupported"]  # reported as left out, with the same reasons
    assert kernel.bindings("background") == ["/system.slice/report.service"]
    again = run_module(policy_groups, {"groups": PRIORITY_GROUPS, "on_unsupported": "drop"})
    assert not again["changed"] and again["changes"] == []
