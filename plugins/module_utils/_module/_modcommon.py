# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the policy-group modules share: argument specs, backend and lock from options, the systemd unit
resolver, and the run-and-report wrapper. Takes the AnsibleModule as a parameter; imports nothing from Ansible."""

from __future__ import annotations

import os
from typing import Any, Callable

from .._engine._backend import BACKEND_CHOICES, DEFAULT_POLICY_ROOT, Backend, make_backend
from .._engine._errors import PlanError, PolicyGroupsError
from .._engine._lock import DEFAULT_LOCK_PATH
from .._engine._members import MISSING_CHOICES
from .._engine._model import HostPolicy, MEM_PRIORITIES, THP_MODES, NUMA_MODES, normalize, normalize_tiers
from .._engine._reconcile import Outcome, UnsupportedPolicyError, reconcile
from .._engine._state import HostState
from .._engine._systemctl import module_runner, parse_show
from .._engine._unit_cgroup import UNIT_PROPERTIES, unit_cgroup
from ._selinux import selinux_labeller

COMMON_ARGS: dict[str, dict[str, Any]] = {
    "policy_root": {"type": "path", "default": DEFAULT_POLICY_ROOT},
    "backend": {"type": "str", "default": "auto", "choices": list(BACKEND_CHOICES)},
    "host_root": {"type": "path", "default": "/"},
    "lock_timeout": {"type": "float", "default": 60.0},
}

GROUP_ARGS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "description": {"type": "str"},
    "parent": {"type": "str"},
    "state": {"type": "str", "default": "present", "choices": ["present", "absent"]},
    "swap": {
        "type": "dict",
        "options": {"tiers": {"type": "list", "elements": "str"}, "enabled": {"type": "bool"}},
        "mutually_exclusive": [["tiers", "enabled"]],
        "required_one_of": [["tiers", "enabled"]],
    },
    "zswap_writeback": {"type": "bool"},
    "thp": {"type": "str", "choices": list(THP_MODES)},
    "ksm": {"type": "bool"},
    "oom_score_adj": {"type": "int"},
    "numa": {
        "type": "dict",
        "options": {"mode": {"type": "str", "required": True, "choices": list(NUMA_MODES)}, "nodes": {"type": "str"}},
    },
    "mem_priority": {"type": "str", "choices": list(MEM_PRIORITIES)},
    "members": {
        "type": "dict",
        "options": {
            "cgroups": {"type": "list", "elements": "str"},
            "systemd_units": {"type": "list", "elements": "str"},
            "pids": {"type": "list", "elements": "int"},
        },
    },
}

MISSING_ARG: dict[str, Any] = {"type": "str", "default": "fail", "choices": list(MISSING_CHOICES)}

TIER_ARGS: dict[str, dict[str, Any]] = {
    "name": {"type": "str", "required": True},
    "start_priority": {"type": "int", "required": True},
}

VERIFY_ARG: dict[str, Any] = {"type": "bool", "default": False}

PLANNED_TIERS_ARG: dict[str, Any] = {"type": "list", "elements": "dict", "options": TIER_ARGS}


def group_document(params: dict[str, Any]) -> dict[str, Any]:
    """One group's dict for ``normalize`` from module parameters (None = not set)."""
    return {key: params[key] for key in GROUP_ARGS if params.get(key) is not None}


def backend_from(params: dict[str, Any], module: Any = None) -> Backend:
    """The backend the options select; ``module`` runs ``systemctl`` for the systemd backend.

    ``host_root`` other than ``/`` is a test seam that re-roots files only: the systemd backend, whose
    ``systemctl`` would act on the live host, is refused there, and ``auto`` means policyfs."""
    runner = module_runner(module) if module is not None else None
    name, root = params["backend"], params["host_root"] or "/"
    if os.path.normpath(root) != "/":
        if name == "systemd":
            raise PolicyGroupsError(
                f"host_root={root} cannot be used with backend=systemd: it re-roots files but systemctl would "
                "act on the live host; host_root is a test seam for the policyfs backend")
        name = "policyfs" if name == "auto" else name
    label = selinux_labeller(module) if module is not None else None
    return make_backend(name, root=params["host_root"], policy_root=params["policy_root"], runner=runner, label=label)


def lock_path(params: dict[str, Any]) -> str:
    root = params["host_root"] or "/"
    return DEFAULT_LOCK_PATH if root == "/" else os.path.join(root, DEFAULT_LOCK_PATH.lstrip("/"))


def existing_paths(actual: HostState) -> dict[str, str]:
    """Group name -> its (first) path on the host, for parents the document does not define."""
    return {name: paths[0] for name, paths in actual.paths_by_name().items()}


def desired_groups(groups: list[dict[str, Any]]) -> Callable[[HostState], HostPolicy]:
    """The policy ``groups`` (documents as from ``group_document``) ask of a host; a parent they do not define
    is the host's group of that name."""
    return lambda actual: normalize({"policy_groups": groups}, existing=existing_paths(actual))


def systemd_resolver(module: Any) -> Callable[[str], str | None]:
    """A unit's cgroup through the module's ``systemctl show``: the running unit's, else the one it will get when
    it starts (``_unit_cgroup.unit_cgroup``); None when systemd does not know the unit or cannot start it."""

    def resolve(unit: str) -> str | None:
        systemctl = module.get_bin_path("systemctl")
        if not systemctl:
            raise PlanError(f"systemd unit {unit} cannot be resolved to a cgroup: systemctl is not installed")
        argv = [systemctl, "show", *(f"--property={name}" for name in UNIT_PROPERTIES), "--", unit]
        rc, out, err = module.run_command(argv)
        if rc != 0:
            raise PlanError(f"systemctl show {unit} failed (rc={rc}): {err.strip()}")
        shown = parse_show(out)
        return unit_cgroup(unit, shown[0] if shown else {})

    return resolve


def reconcile_result(
    module: Any,
    desired: Callable[[HostState], HostPolicy],
    purge: bool,
    diff: str = "groups",
    missing: str = "fail",
    shape: Callable[[dict[str, Any], Outcome[Any]], None] | None = None,
    planned_tiers: list[dict[str, Any]] | None = None,
    unsupported: str = "fail",
    restart_units: bool = False,
    check_mode: bool | None = None,
) -> tuple[bool, dict[str, Any], Outcome[Any] | None]:
    """Reconcile with the backend the module's options select: (ok, the result the module returns, the outcome;
    None when the engine refused before any write). A module of one step exits with it (``exit_result``); one
    that does more in its run (policy_host) goes on.

    ``planned_tiers`` (the module option of that name): in check mode, plan against this tier table.
    ``check_mode``: plan only, whatever the module's mode (default: the module's)."""
    params = module.params
    try:
        planned = None if planned_tiers is None else normalize_tiers(
            [{"name": t["name"], "start_priority": t["start_priority"]} for t in planned_tiers], "planned_tiers")
        outcome = reconcile(
            backend_from(params, module),
            desired,
            purge=purge,
            check_mode=module.check_mode if check_mode is None else check_mode,
            lock_path=lock_path(params),
            lock_timeout=params["lock_timeout"],
            resolve_unit=systemd_resolver(module),
            missing=missing,
            planned_tiers=planned,
            unsupported=unsupported,
            restart_units=restart_units,
            verify=bool(params.get("verify")),
        )
    except UnsupportedPolicyError as exc:
        return False, {"msg": str(exc), "changed": False, "changes": [], "applied": [], "backend": exc.backend,
                       "unsupported": [f.to_dict() for f in exc.findings]}, None
    except PolicyGroupsError as exc:
        return False, {"msg": str(exc), "changed": False, "changes": [], "applied": []}, None
    result = outcome.result(diff=diff)
    if shape is not None:
        shape(result, outcome)
    return outcome.ok, result, outcome


def exit_result(module: Any, ok: bool, result: dict[str, Any]) -> None:
    """Exit the module with a step's result: ``exit_json`` when it succeeded, ``fail_json`` otherwise."""
    if ok:
        module.exit_json(**result)
    else:
        module.fail_json(**result)
