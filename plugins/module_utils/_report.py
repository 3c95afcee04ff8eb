# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-data views of state for module results: groups, diffs, tiers (stdlib only)."""

from __future__ import annotations

from typing import Any, Iterable

from ._model import TierSpec
from ._plan import Operation
from ._state import GroupState, HostState


def group_view(group: GroupState, effective: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": group.name,
        "parent": group.parent_path.rpartition("/")[2] or None,
        "policies": dict(group.policies),
        "members": {"cgroups": list(group.bindings), "pids": list(group.pids)},
    }
    if effective:
        view["effective"] = dict(group.effective)
    return view


def groups_view(state: HostState, effective: bool = False) -> dict[str, dict[str, Any]]:
    return {path: group_view(group, effective) for path, group in state.groups.items()}


def tiers_view(tiers: Iterable[TierSpec] | None) -> list[dict[str, Any]]:
    return [t.to_dict() for t in tiers or ()]


def group_diff(before: HostState, after: HostState, operations: Iterable[Operation]) -> dict[str, dict[str, Any]]:
    """``{before, after}`` keyed by the path of every group an operation touches (absent side: no key)."""
    touched = sorted({op.group for op in operations if op.group is not None} | {op.after for op in operations if op.op == "move_members" and op.after})
    result: dict[str, dict[str, Any]] = {"before": {}, "after": {}}
    for side, state in (("before", before), ("after", after)):
        for path in touched:
            if path in state.groups:
                group = state.groups[path]
                result[side][path] = {
                    "policies": dict(group.policies),
                    "members": {"cgroups": list(group.bindings), "pids": list(group.pids)},
                }
    return result


def tiers_diff(before: HostState, after: HostState) -> dict[str, dict[str, Any]]:
    return {"before": {"tiers": tiers_view(before.tiers)}, "after": {"tiers": tiers_view(after.tiers)}}
