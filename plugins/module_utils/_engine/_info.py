# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host report for policy_groups_info and persisted-state drift (stdlib only)."""

from __future__ import annotations

import json
from typing import Any, Callable

from .._systemd._backend_systemd import SystemdBackend
from .._systemd._mainline_map import ALWAYS_UNSUPPORTED
from .._systemd._planner_systemd import view_groups
from ._backend import Backend
from ._errors import PolicyGroupsError
from ._io import HostIO
from ._members import UnitResolver, resolve_members
from ._model import normalize
from ._plan import plan
from ._procfs import online_nodes, swap_devices
from ._report import groups_view, tiers_view
from ._state import HostState


def host_info(backend: Backend, io: HostIO) -> tuple[dict[str, Any], HostState | None]:
    """Everything about the host; never raises for a host without policy groups (``available: false``)."""
    caps = backend.probe()
    info: dict[str, Any] = {
        "backend": caps.backend,
        "available": caps.available,
        "reason": caps.reason,
        "abi_version": caps.abi_version,
        "features": list(caps.features),
        "kernel_release": caps.kernel_release,
        "tiers_supported": caps.tiers_supported,
        "swap_tiers": [],
        "swap_devices": [d.to_dict() for d in swap_devices(io, None)],
        "numa_nodes": list(online_nodes(io) or ()),
        "groups": {},
    }
    if not caps.available:
        return info, None
    try:
        caps = backend.require()
        state = backend.read_state(caps, effective=True)
    except PolicyGroupsError as exc:
        info.update(available=False, reason=str(exc))
        return info, None
    info["swap_tiers"] = tiers_view(state.tiers)
    if isinstance(backend, SystemdBackend):
        info.update(mainline_info(backend, state))
        return info, state
    info["swap_devices"] = [d.to_dict() for d in state.swap_devices]
    info["groups"] = groups_view(state, effective=True)
    return info, state


def add_stats(backend: Backend, info: dict[str, Any], state: HostState) -> list[str]:
    """Give each group of ``info`` its statistics (``stats``, integers by key) and return a warning for each line
    left out. Raises UnsupportedError, before reading anything, when the host keeps no per-group statistics."""
    stats = backend.read_stats(state.capabilities, list(state.groups))
    warnings: list[str] = []
    for path, reading in stats.items():
        info["groups"][path]["stats"] = dict(reading.values)
        warnings.extend(reading.left_out)
    return warnings


def mainline_info(backend: SystemdBackend, state: HostState) -> dict[str, Any]:
    """The systemd backend's view: groups from its drop-ins (units as members; effective = rendered values),
    the systemd version, and every policy or member kind this host cannot express, with the reason."""
    groups = view_groups(state, backend.units_by_group())
    for path, group in state.groups.items():
        groups[path]["effective"] = dict(group.effective)
    unsupported = {key: reason for key, reason in backend.support.items() if reason}
    unsupported.update(ALWAYS_UNSUPPORTED)
    return {"groups": groups, "systemd_version": backend.systemd_version, "unsupported": dict(sorted(unsupported.items()))}


def read_persisted(io: HostIO, path: str) -> dict[str, Any] | None:
    """The persisted document (JSON) or None when there is none."""
    try:
        text = io.read(path)
    except FileNotFoundError:
        return None
    doc = json.loads(text)
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: not a JSON object")
    return doc


def persisted_drift(
    doc: dict[str, Any], state: HostState, resolve_unit: UnitResolver | None, pid_exists: Callable[[int], bool]
) -> list[dict[str, Any]]:
    """What would change if the persisted document were restored now: the operations, or one ``error`` finding."""
    if state.capabilities.backend == "systemd":
        msg = "the systemd backend keeps no separate persisted state: its drop-ins in /etc/systemd/system are it"
        return [{"op": "error", "group": None, "key": None, "before": None, "after": None, "msg": msg}]
    wanted: dict[str, Any] = {"policy_groups": doc.get("policy_groups") or []}
    if doc.get("policy_swap_tiers") is not None:
        wanted["policy_swap_tiers"] = doc["policy_swap_tiers"]
    try:
        desired, _skipped = resolve_members(normalize(wanted), resolve_unit, pid_exists, "skip")
        return [op.to_dict() for op in plan(desired, state, purge=bool(doc.get("purge")))]
    except PolicyGroupsError as exc:
        return [{"op": "error", "group": None, "key": None, "before": None, "after": None, "msg": str(exc)}]
