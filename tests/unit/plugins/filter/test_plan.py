"""policygroups.core.plan and fleet_plan: the files an offline render writes for reviewers."""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.policygroups.core.plugins.filter.plan import fleet_plan, plan
from ansible_collections.policygroups.core.plugins.filter.render import render

FACTS: dict[str, Any] = {
    "backend": "policyfs", "available": True, "abi_version": 1, "kernel_release": "6.12.0-policy",
    "features": ["thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "mem_priority", "bind"],
    "swap_devices": [{"path": "/dev/zram0", "priority": 150}], "numa_nodes": [0],
}


def team(web_oom: int = -500) -> dict[str, Any]:
    """The web servers' view of the team's fleet: the database group is absent on them."""
    return {
        "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
        "policy_groups": [
            {"name": "services", "thp": "never"},
            {"name": "web", "parent": "services", "oom_score_adj": web_oom, "swap": {"tiers": ["fast"]},
             "members": {"systemd_units": ["nginx.service"]}},
            {"name": "postgres", "state": "absent", "oom_score_adj": -800, "swap": {"enabled": False},
             "members": {"systemd_units": ["postgresql@16-main.service"]}},
        ],
    }


def test_one_copy_of_the_policy_and_absent_groups_without_policy() -> None:
    out = plan(render(team(), FACTS, host="web1"))
    assert list(out) == ["summary", "host", "backend", "facts", "kernel_release", "policy_swap_tiers", "groups"]
    assert out["groups"] == {
        "services": {"name": "services", "state": "present", "parent": None, "policy": {"thp": "never"}},
        "services/web": {"name": "web", "state": "present", "parent": "services",
                         "policy": {"oom_score_adj": "-500", "swap_tiers": "fast"}, "inherited": {"thp": "never"},
                         "members": {"systemd_units": ["nginx.service"]}},
        "postgres": {"name": "postgres", "state": "absent"},
    }
    assert out["summary"]["present"] == ["services", "services/web"]
    assert out["summary"]["absent"] == ["postgres"]
    assert out["summary"]["changes"] == ["first plan for this host (no previous plan to compare)"]
    assert "-800" not in repr(out)  # web1's plan does not carry the database's settings


def test_changes_against_the_previous_plan() -> None:
    before = plan(render(team(), FACTS, host="web1"))
    doc = team(web_oom=-300)
    doc["policy_groups"][2]["state"] = "present"
    doc["policy_groups"].append({"name": "batch", "ksm": True})
    doc["policy_swap_tiers"][0]["start_priority"] = 200
    after = plan(render(doc, FACTS, host="web1"), before)
    assert after["summary"]["changes"] == [
        "policy_swap_tiers: fast@100, slow@-1 -> fast@200, slow@-1",
        "batch: new group (present)",
        "postgres: absent -> present",
        "services/web: policy.oom_score_adj: -500 -> -300",
    ]
    assert plan(render(team(), FACTS, host="web1"), before)["summary"]["changes"] == []


def test_plan_is_pure_and_deterministic() -> None:
    rendered = render(team(), FACTS, host="web1")
    kept = copy.deepcopy(rendered)
    assert plan(rendered) == plan(rendered) and rendered == kept


def test_fleet_summary() -> None:
    web1 = plan(render(team(), FACTS, host="web1"))
    db1 = plan(render(team(-300), None, host="db1"), web1 | {"host": "db1"})
    text = fleet_plan([web1, db1])
    assert text.splitlines()[:6] == [
        "# Fleet plan",
        "",
        "| Host | Backend | Facts | Present | Absent | Unsupported | Warnings | Changes |",
        "|---|---|---|---|---|---|---|---|",
        "| db1 | - | missing | services, services/web | postgres | 0 | 1 | 2 |",
        "| web1 | policyfs | present | services, services/web | postgres | 0 | 0 | first plan |",
    ]
    assert "### db1\n\n- backend: policyfs -> None\n- services/web: policy.oom_score_adj: -500 -> -300" in text
