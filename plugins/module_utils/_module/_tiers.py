# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swap tier step the modules share (swap_tiers, and policy_groups_converge before its groups): the table to
reach and the result's shape. Takes the AnsibleModule as a parameter; imports nothing from Ansible."""

from __future__ import annotations

from typing import Any

from .._engine._model import HostPolicy, normalize_tiers
from .._engine._reconcile import Outcome
from .._engine._report import tiers_view
from .._engine._state import HostState
from ._modcommon import reconcile_result

TIER_OPTIONS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "start_priority": {"type": "int", "required": True},
}


def desired_tiers(given: list[dict[str, Any]], actual: HostState, purge: bool) -> HostPolicy:
    """The tier table to reach: the given one, or with ``purge=false`` the host's updated by the given one."""
    items = [{"name": t["name"], "start_priority": t["start_priority"]} for t in given]
    if not purge:
        named = {t["name"] for t in items}
        items += [t.to_dict() for t in actual.tiers or () if t.name not in named]
    return HostPolicy(groups=(), tiers=normalize_tiers(items, "tiers"))


def shape(result: dict[str, Any], outcome: Outcome[Any]) -> None:
    result.pop("groups", None)
    result["tiers"] = tiers_view(outcome.after.tiers)


def tiers_result(module: Any, tiers: list[dict[str, Any]], purge: bool, check_mode: bool | None = None
                 ) -> tuple[bool, dict[str, Any], Outcome[Any] | None]:
    """Reconcile the host's tier table with ``tiers``: (ok, the swap_tiers module's result, outcome);
    ``check_mode``: plan only, whatever the module's mode."""
    return reconcile_result(module, lambda actual: desired_tiers(tiers, actual, purge), purge=False, diff="tiers",
                            shape=shape, check_mode=check_mode)
