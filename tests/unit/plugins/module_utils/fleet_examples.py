"""Fleet documents shared by the schema and validation tests."""

from __future__ import annotations

import copy
from typing import Any

# The example of the product brief, completed with the parent it names.
BRIEF_EXAMPLE: dict[str, Any] = {
    "policy_swap_tiers": [
        {"name": "fast", "start_priority": 100},
        {"name": "slow", "start_priority": -1},
    ],
    "policy_groups": [
        {
            "name": "latency",
            "description": "user-facing services",
            "swap": {"tiers": ["fast"]},
            "thp": "never",
            "oom_score_adj": -500,
            "members": {"cgroups": ["/system.slice/api.service"]},
        },
        {"name": "background", "thp": "never", "ksm": True},
        {
            "name": "batch",
            "parent": "background",
            "swap": {"tiers": ["slow"]},
            "ksm": True,
            "members": {"systemd_units": ["report.service"]},
        },
    ],
}

# Every field of the model set at least once.
FULL_EXAMPLE: dict[str, Any] = {
    "policy_swap_tiers": [
        {"name": "zram", "start_priority": 1000},
        {"name": "fast", "start_priority": 100},
        {"name": "slow", "start_priority": -1},
    ],
    "policy_groups": [
        {
            "name": "latency",
            "description": "user-facing services",
            "parent": None,
            "state": "present",
            "swap": {"tiers": ["zram", "fast"]},
            "zswap_writeback": True,
            "thp": "never",
            "ksm": False,
            "oom_score_adj": -500,
            "numa": {"mode": "bind", "nodes": "0-1"},
            "mem_priority": "high",
            "members": {
                "cgroups": ["/system.slice/api.service"],
                "systemd_units": ["report.service", "worker@3.service"],
                "pids": [1234],
            },
        },
        {"name": "no-swap", "parent": "latency", "swap": {"enabled": False}, "numa": {"mode": "local"}},
        {"name": "old_group", "state": "absent"},
    ],
}


def doc(base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A deep copy to mutate (of the brief's example unless ``base`` is given)."""
    return copy.deepcopy(BRIEF_EXAMPLE if base is None else base)
