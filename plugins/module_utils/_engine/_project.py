# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state a plan would produce, computed without touching the host (check mode's ``after``; stdlib only)."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from ._model import INHERIT, POLICY_KEYS
from ._plan import ROOT, Operation
from ._state import GroupState, HostState


def project(state: HostState, operations: Iterable[Operation]) -> HostState:
    groups = dict(state.groups)
    tiers = state.tiers
    features = set(state.capabilities.features)

    # Which groups may hold a PID: looking a moved PID up here instead of in every group keeps a plan of many
    # joins linear. Entries may be stale (a group removed, a PID moved on): each is checked against the group.
    holders: dict[int, set[str]] = {}
    for path, group in groups.items():
        for pid in group.pids:
            holders.setdefault(pid, set()).add(path)

    def take_pids(pids: set[int]) -> None:
        for path in sorted({p for pid in pids for p in holders.pop(pid, ())}):
            group = groups.get(path)
            if group is not None and pids & set(group.pids):
                groups[path] = replace(group, pids=tuple(p for p in group.pids if p not in pids))

    def add_pids(path: str, pids: Iterable[int]) -> None:
        for pid in pids:
            holders.setdefault(pid, set()).add(path)

    for op in operations:
        path, key = op.group or "", op.key or ""
        if op.op == "set_tiers":
            tiers = tuple(op.after)
        elif op.op == "create_group":
            policies = {key: INHERIT for key in POLICY_KEYS if key in features}
            groups[path] = GroupState(path=path, policies=policies)
        elif op.op == "set_policy":
            group = groups[path]
            groups[path] = replace(group, policies={**group.policies, key: op.after})
        elif op.op == "bind":
            group = groups[path]
            groups[path] = replace(group, bindings=tuple(sorted({*group.bindings, op.after})))
        elif op.op == "unbind":
            group = groups[path]
            groups[path] = replace(group, bindings=tuple(b for b in group.bindings if b != op.before))
        elif op.op == "join_pid":
            take_pids({op.after})
            group = groups[path]
            groups[path] = replace(group, pids=tuple(sorted({*group.pids, op.after})))
            add_pids(path, (op.after,))
        elif op.op == "move_members":
            moving = set(groups[path].pids)
            take_pids(moving)
            if op.after != ROOT and op.after in groups:
                target = groups[op.after]
                groups[op.after] = replace(target, pids=tuple(sorted(set(target.pids) | moving)))
                add_pids(op.after, moving)
        elif op.op == "remove_group":
            groups.pop(path, None)
    return replace(state, tiers=tiers, groups=dict(sorted(groups.items())))
