"""The role's swap device step resolves tier names in the fleet's tier table, also where the kernel has no tiers.

On a mainline kernel the tier step is left out (``policy_swap_tiers`` is reported unsupported and dropped), but the
tiers still say which priorities the fleet's devices get: a device given ``tier: fast`` must be resolved in the
fleet document's table, not left to a kernel table that does not exist (found by the team fleet on the stock
kernel: "tier 'fast' cannot be resolved: this kernel has no swap tiers"). The task's argument is evaluated here as
Ansible evaluates it; the whole path runs in guests in scripts/test-team.sh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleValueOmittedError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

APPLY = Path(__file__).resolve().parents[3] / "roles" / "policy_groups" / "tasks" / "after_converge.yml"
FLEET_TIERS = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]


def tiers_argument(**variables: Any) -> Any:
    """The ``tiers`` argument the role gives policygroups.core.swap_device, or ``"omitted"``."""
    task = next(t for t in yaml.safe_load(APPLY.read_text()) if t["name"] == "Put swap devices at their priorities")
    templar = Templar(loader=DataLoader(), variables=variables)
    try:
        return templar.template(trust_as_template(task["policygroups.core.swap_device"]["tiers"]))
    except AnsibleValueOmittedError:
        return "omitted"


def test_tier_names_resolve_in_the_fleet_table_when_the_tier_step_was_left_out() -> None:
    skipped = {"skipped": True, "changed": False}
    assert tiers_argument(item={"tier": "fast"}, policy_groups_tiers_result=skipped,
                          policy_swap_tiers=FLEET_TIERS) == FLEET_TIERS


def test_tier_names_resolve_in_the_fleet_table_when_the_tier_result_is_undefined() -> None:
    # the converge task publishes policy_groups_tiers_result only when its tier step ran
    assert tiers_argument(item={"tier": "fast"}, policy_swap_tiers=FLEET_TIERS) == FLEET_TIERS


def test_tier_names_resolve_in_the_table_the_tier_step_installed() -> None:
    installed = [{"name": "fast", "start_priority": 50}, {"name": "slow", "start_priority": -1}]
    assert tiers_argument(item={"tier": "fast"}, policy_groups_tiers_result={"tiers": installed},
                          policy_swap_tiers=FLEET_TIERS) == installed


@pytest.mark.parametrize("variables", [
    {"item": {"priority": 5}, "policy_groups_tiers_result": {"tiers": FLEET_TIERS}, "policy_swap_tiers": FLEET_TIERS},
    {"item": {"tier": "fast"}, "policy_groups_tiers_result": {"skipped": True}},  # no table anywhere: the kernel's
])
def test_no_table_is_given_where_none_is_needed_or_known(variables: dict[str, Any]) -> None:
    assert tiers_argument(**variables) == "omitted"
