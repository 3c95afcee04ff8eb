"""policygroups.core.health_findings: the rendered policy against what the kernel reports."""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.policygroups.core.plugins.filter.health_findings import FilterModule, health_findings
from ansible_collections.policygroups.core.plugins.filter.render import render

DOC = {
    "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
    "policy_groups": [
        {"name": "latency", "thp": "never", "swap": {"tiers": ["fast", "slow"]},
         "members": {"cgroups": ["/system.slice/api.service"]}},
        {"name": "child", "parent": "latency", "ksm": True},
        {"name": "old", "state": "absent"},
    ],
}
EFFECTIVE_DEFAULTS = {"thp": "default", "ksm": "default", "oom_score_adj": "default", "swap_tiers": "default",
                      "zswap_writeback": "default", "numa": "default"}


def healthy_info() -> dict[str, Any]:
    lat = dict(EFFECTIVE_DEFAULTS, thp="never", swap_tiers="fast slow")
    return {
        "available": True,
        "swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
        "groups": {
            "latency": {"effective": lat, "members": {"cgroups": ["/system.slice/api.service"], "pids": []}},
            "latency/child": {"effective": dict(lat, ksm="1"), "members": {"cgroups": [], "pids": []}},
        },
    }


def test_healthy() -> None:
    assert health_findings(render(DOC, None), healthy_info()) == []


def test_swap_order_does_not_matter() -> None:
    info = healthy_info()
    info["groups"]["latency"]["effective"]["swap_tiers"] = "slow,fast"
    assert health_findings(render(DOC, None), info) == []


def test_every_problem_named() -> None:
    info = healthy_info()
    info["swap_tiers"] = info["swap_tiers"][1:]
    info["groups"]["latency"]["effective"]["thp"] = "always"
    info["groups"]["latency"]["members"]["cgroups"] = []
    del info["groups"]["latency/child"]
    info["groups"]["old"] = copy.deepcopy(info["groups"]["latency"])
    problems = health_findings(render(DOC, None), info)
    assert problems == [
        "swap tiers are [('slow', -1)], expected [('fast', 100), ('slow', -1)]",
        "latency: effective thp is always, expected never",
        "latency: cgroup /system.slice/api.service is not bound",
        "latency/child: group missing",
        "old: group should be absent",
    ]


def test_unavailable_host() -> None:
    assert health_findings(render(DOC, None), {"available": False, "reason": "no controller"}) == [
        "policy groups are not available: no controller"]
    assert health_findings(render(DOC, None), None) == ["policy groups are not available: no host information"]


def test_registered() -> None:
    assert FilterModule().filters()["health_findings"] is health_findings
