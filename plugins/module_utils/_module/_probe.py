# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The probe of a host as the modules report it (policy_groups_info, and policy_groups_converge before it applies):
backend, features, tiers, devices, NUMA nodes and groups; optionally the persisted policy and its drift, and
whether the boot-time restore unit is enabled. Also the part of it that rendering reads (``render_facts``).
Takes the AnsibleModule as a parameter; imports nothing from Ansible."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .._engine._backend import Backend
from .._engine._errors import PolicyGroupsError
from .._engine._info import add_stats, host_info, persisted_drift, read_persisted
from .._engine._io import HostIO
from ._kernel_host import unit_state
from ._modcommon import backend_from, systemd_resolver


class ProbeError(Exception):
    """The probe could not finish; ``info`` is what it read before (None when it read nothing)."""

    def __init__(self, msg: str, info: dict[str, Any] | None = None) -> None:
        super().__init__(msg)
        self.info = info


def probe(module: Any, params: Mapping[str, Any], persist_path: str | None = None, restore_unit: str | None = None,
          stats: bool = False) -> tuple[dict[str, Any], Backend]:
    """The host's ``policy_groups_info`` and the backend that read it. Raises ProbeError."""
    io = HostIO(params["host_root"])
    try:
        backend = backend_from({**params, "lock_timeout": None}, module)
    except PolicyGroupsError as exc:
        raise ProbeError(str(exc)) from exc
    info, state = host_info(backend, io)
    if stats and state is not None:
        try:
            warnings = add_stats(backend, info, state)
        except PolicyGroupsError as exc:
            raise ProbeError(str(exc), info) from exc
        for warning in warnings:
            module.warn(warning)
    if persist_path:
        try:
            doc = read_persisted(io, persist_path)
        except (OSError, ValueError) as exc:
            raise ProbeError(f"cannot read the persisted policy {persist_path}: {exc}", info) from exc
        info["persisted"] = doc
        if doc is None:
            info["persisted_drift"] = []
        elif state is None:
            info["persisted_drift"] = [{"op": "error", "group": None, "key": None, "before": None, "after": None,
                                        "msg": info["reason"]}]
        else:
            info["persisted_drift"] = persisted_drift(doc, state, systemd_resolver(module), backend.pid_exists)
    if restore_unit:
        info["restore_unit_enabled"] = unit_enabled(module, restore_unit, params["host_root"])
    return info, backend


def unit_enabled(module: Any, unit: str, host_root: str | None) -> bool | None:
    """Whether systemd enables ``unit`` at boot (``systemctl is-enabled``: "enabled" or "enabled-runtime" is yes,
    anything else it answers is no); None when it cannot be asked (a re-rooted host, no systemctl)."""
    if os.path.normpath(host_root or "/") != "/":
        return None
    state = unit_state(module.run_command, module.get_bin_path("systemctl"), unit)
    return None if state is None else state in ("enabled", "enabled-runtime")


# What the render filter reads of a host's facts (plugins/filter/render.py: _check_host and the result's header).
# A plan rendered against facts whose projection equals the host's current one is the plan the host would get
# from a fresh probe; the rest of the probe (groups, device usage) does not change a rendering.
RENDER_FACT_KEYS = ("available", "reason", "backend", "unsupported", "features", "tiers_supported", "abi_version",
                    "kernel_release", "numa_nodes")


def render_facts(facts: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The part of ``facts`` (a probe's ``policy_groups_info``) that a rendering depends on, in plain, comparable
    form; None for no facts."""
    if not facts:
        return None
    out: dict[str, Any] = {key: _plain(facts.get(key)) for key in RENDER_FACT_KEYS}
    out["swap_tiers"] = [{"name": str(t.get("name")), "start_priority": int(t.get("start_priority", 0))}
                         for t in facts.get("swap_tiers") or []]
    devices = facts.get("swap_devices")
    out["swap_devices"] = None if devices is None else [
        {"path": str(d.get("path")), "priority": int(d.get("priority", -1))} for d in devices]
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
