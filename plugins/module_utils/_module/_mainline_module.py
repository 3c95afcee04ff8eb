# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The group modules' entry: the options every backend shares for what a host cannot express and for restarts.
Takes the AnsibleModule as a parameter; imports nothing from Ansible."""

from __future__ import annotations

from typing import Any, Callable

from . import _modcommon
from .._engine._model import HostPolicy
from .._engine._reconcile import Outcome
from .._engine._state import HostState

# One vocabulary with the role (policy_groups_on_unsupported) and the render filter: fail or drop. The option
# was called unsupported, with warn for drop; both old names are accepted, deprecated.
ON_UNSUPPORTED_CHOICES = ("fail", "drop", "warn")
MAINLINE_ARGS: dict[str, dict[str, Any]] = {
    "on_unsupported": {
        "type": "str", "default": "fail", "choices": list(ON_UNSUPPORTED_CHOICES), "aliases": ["unsupported"],
        "deprecated_aliases": [{"name": "unsupported", "version": "1.0.0", "collection_name": "policygroups.core"}],
    },
    "restart_units": {"type": "bool", "default": False},
}


def engine_unsupported(module: Any) -> str:
    """The engine's word (fail or warn) for the module's on_unsupported (fail or drop; warn deprecated)."""
    mode = module.params["on_unsupported"]
    if mode == "warn":
        module.deprecate("on_unsupported=warn is now called on_unsupported=drop", version="1.0.0",
                         collection_name="policygroups.core")
    return "fail" if mode == "fail" else "warn"


def groups_result(
    module: Any,
    desired: Callable[[HostState], HostPolicy],
    purge: bool,
    missing: str = "fail",
    planned_tiers: list[dict[str, Any]] | None = None,
    check_mode: bool | None = None,
) -> tuple[bool, dict[str, Any], Outcome[Any] | None]:
    """Reconcile with the backend the options and the host select: (ok, result, outcome). Both backends run
    the same loop and return the same keys; what the host cannot express is left out and warned about with
    ``on_unsupported=drop``. ``check_mode``: plan only, whatever the module's mode (no warnings then: the run
    that follows gives them)."""
    params = module.params

    def warn(result: dict[str, Any], _outcome: Outcome[Any]) -> None:
        for finding in result["unsupported"]:
            module.warn(f"left out, not supported on this host: group {finding['group']!r}: "
                        f"{finding['policy']}: {finding['reason']}")

    return _modcommon.reconcile_result(module, desired, purge=purge, missing=missing, planned_tiers=planned_tiers,
                                       shape=warn if check_mode is None else None,
                                       unsupported=engine_unsupported(module),
                                       restart_units=params["restart_units"], check_mode=check_mode)


def run_groups(
    module: Any,
    desired: Callable[[HostState], HostPolicy],
    purge: bool,
    missing: str = "fail",
    planned_tiers: list[dict[str, Any]] | None = None,
) -> None:
    """``groups_result``, then exit the module with it."""
    ok, result, _outcome = groups_result(module, desired, purge, missing=missing, planned_tiers=planned_tiers)
    _modcommon.exit_result(module, ok, result)
