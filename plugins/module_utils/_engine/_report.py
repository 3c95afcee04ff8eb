# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plain-data views of state for module results: groups, diffs, tiers (stdlib only)."""

from __future__ import annotations

from typing import Any, Iterable

from ._model import TierSpec, document_policies
from ._state import GroupState, HostState


def group_view(group: GroupState, effective: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": group.name,
        "parent": group.parent_path.rpartition("/")[2] or None,
        "policies": dict(group.policies),
        "settings": document_policies(group.policies),
        "members": {"cgroups": list(group.bindings), "systemd_units": [], "pids": list(group.pids)},
    }
    if effective:
        view["effective"] = dict(group.effective)
    return view


def groups_view(state: HostState, effective: bool = False) -> dict[str, dict[str, Any]]:
    return {path: group_view(group, effective) for path, group in state.groups.items()}


def tiers_view(tiers: Iterable[TierSpec] | None) -> list[dict[str, Any]]:
    return [t.to_dict() for t in tiers or ()]


def tiers_diff(before: HostState, after: HostState) -> dict[str, dict[str, Any]]:
    return {"before": {"tiers": tiers_view(before.tiers)}, "after": {"tiers": tiers_view(after.tiers)}}
