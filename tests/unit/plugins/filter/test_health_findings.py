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


def test_systemd_backend_reads_back_what_its_dropins_express() -> None:
    """On the systemd backend a group is what its members' drop-ins say: a value no drop-in sets reads back as
    ``inherit`` where the render says ``default``, and a group without units of its own has no drop-in at all. The
    rollout's health check after a converged batch must find nothing (found by the team fleet on the stock kernel:
    "web: effective thp is inherit, expected default")."""
    from ansible_collections.policygroups.core.plugins.module_utils._systemd._backend_systemd import policies_from
    from ansible_collections.policygroups.core.plugins.module_utils._systemd._mainline_map import properties_of

    doc = {"policy_swap_tiers": DOC["policy_swap_tiers"], "policy_groups": [
        {"name": "web", "thp": "never", "oom_score_adj": -500, "swap": {"tiers": ["fast"]},
         "members": {"systemd_units": ["nginx.service"]}},
        {"name": "background", "ksm": True, "oom_score_adj": 500},
        {"name": "nightly", "parent": "background", "oom_score_adj": 800,
         "members": {"systemd_units": ["backup.service"]}},
    ]}
    facts = {"backend": "systemd", "available": True, "features": ["ksm", "oom_score_adj", "systemd_units"],
             "tiers_supported": False, "swap_tiers": [], "swap_devices": [], "numa_nodes": [0], "groups": {},
             "unsupported": {"thp": "no MemoryTHP=", "zswap_writeback": "no memory.zswap.writeback",
                             "swap_tiers.tiers": "no tier selection", "members.cgroups": "no", "members.pids": "no"}}
    rendered = render(doc, facts, on_unsupported="drop")
    groups = {}
    for path, group in rendered["groups"].items():
        if not group["members"]["systemd_units"]:
            continue  # no unit, no drop-in
        props: dict[str, str] = {}
        for key, value in group["effective"].items():
            if value not in ("default", "inherit"):
                props.update(properties_of(key, value) or {})
        groups[path] = {"effective": policies_from(props), "members": {"cgroups": [], "pids": [],
                                                                       "systemd_units": group["members"]["systemd_units"]}}
    info = {"available": True, "backend": "systemd", "swap_tiers": [], "groups": groups}
    assert health_findings(rendered, info) == []
    # what it still finds there: a group's unit whose drop-in is gone, a value that differs
    del info["groups"]["background/nightly"]
    info["groups"]["web"]["effective"]["oom_score_adj"] = "0"
    assert health_findings(rendered, info) == ["web: effective oom_score_adj is 0, expected -500",
                                               "background/nightly: group missing"]
