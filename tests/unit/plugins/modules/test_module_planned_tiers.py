"""The role's check mode on a host without tiers yet: swap_tiers' projected table feeds policy_groups."""

from __future__ import annotations

from typing import Any, Callable

from fakekernel import FakeKernel

from ansible_collections.policygroups.core.plugins.modules import policy_groups, swap_tiers

TIERS = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
GROUPS = [
    {"name": "latency", "swap": {"tiers": ["fast"]}, "thp": "never", "members": {"cgroups": ["/system.slice/api.service"]}},
    {"name": "background", "swap": {"tiers": ["slow"]}, "ksm": True},
]


def test_check_mode_reports_the_tiers_and_plans_the_groups(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    tiers = run_module(swap_tiers, {"tiers": TIERS}, check_mode=True)
    assert tiers["changed"] and [c["op"] for c in tiers["changes"]] == ["set_tiers"]
    assert tiers["tiers"] == TIERS
    groups = run_module(policy_groups, {"groups": GROUPS, "planned_tiers": tiers["tiers"]}, check_mode=True)
    assert groups["rc_exit"] == 0 and groups["changed"], groups.get("msg")
    assert ("set_policy", "latency", "swap_tiers", "fast") in [
        (c["op"], c["group"], c["key"], c["after"]) for c in groups["changes"]]
    assert kernel.writes == []
    # a real run, tiers first, does exactly what check mode reported
    assert run_module(swap_tiers, {"tiers": TIERS})["changes"] == tiers["changes"]
    applied = run_module(policy_groups, {"groups": GROUPS})
    assert applied["changes"] == groups["changes"] and applied["groups"] == groups["groups"]


def test_without_planned_tiers_check_mode_fails_naming_the_missing_tier(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    result = run_module(policy_groups, {"groups": GROUPS}, check_mode=True)
    assert result["failed"] and "swap tier(s) slow are not defined on this host" in result["msg"]


def test_bad_planned_tiers_fail_before_anything(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    result = run_module(policy_groups, {"groups": GROUPS, "planned_tiers": [{"name": "bad-name", "start_priority": -1}]},
                        check_mode=True)
    assert result["failed"] and result["msg"].startswith("planned_tiers[0]")
    assert kernel.writes == []
