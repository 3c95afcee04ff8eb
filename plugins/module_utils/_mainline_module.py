# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The group modules' entry: pick the backend, then run the systemd backend's reconcile or the policyfs one.
Takes the AnsibleModule as a parameter; imports nothing from Ansible."""

from __future__ import annotations

from typing import Any, Callable

from . import _modcommon
from ._backend_systemd import SystemdBackend
from ._errors import PolicyGroupsError
from ._mainline_reconcile import MainlineUnsupportedError, reconcile_systemd
from ._model import HostPolicy
from ._state import HostState

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


def run_groups(
    module: Any,
    desired: Callable[[HostState], HostPolicy],
    purge: bool,
    missing: str = "fail",
    planned_tiers: list[dict[str, Any]] | None = None,
) -> None:
    """Reconcile with the backend the options and the host select, then exit the module."""
    params = module.params
    try:
        backend = _modcommon.backend_from(params, module)
    except PolicyGroupsError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], applied=[])
        return
    if not isinstance(backend, SystemdBackend):
        _modcommon.run_reconcile(module, desired, purge=purge, missing=missing, planned_tiers=planned_tiers)
        return
    try:
        outcome = reconcile_systemd(
            backend,
            desired,
            purge=purge,
            check_mode=module.check_mode,
            lock_path=_modcommon.lock_path(params),
            lock_timeout=params["lock_timeout"],
            unsupported=engine_unsupported(module),
            restart_units=params["restart_units"],
        )
    except MainlineUnsupportedError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], applied=[], backend="systemd",
                         unsupported=[f.to_dict() for f in exc.findings])
        return
    except PolicyGroupsError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], applied=[], backend="systemd")
        return
    for finding in outcome.unsupported:
        module.warn(f"left out, not supported on this host: {finding}")
    result = outcome.result()
    if not outcome.ok:
        module.fail_json(**result)
        return
    module.exit_json(**result)
