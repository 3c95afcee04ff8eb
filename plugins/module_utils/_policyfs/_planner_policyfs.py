# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The policyfs backend's half of a run (``_reconcile.Planner``): the view is the host's HostState, findings
are the policies and members this kernel's ``policy.features`` lack, the plan is ``_plan.plan`` (stdlib only)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable

from .._engine._backend import Backend
from .._engine._members import resolve_members
from .._engine._model import INHERIT, POLICY_KEYS, HostPolicy, Members, TierSpec
from .._engine._plan import Operation, plan
from .._engine._planner import Plan, Request
from .._engine._project import project
from .._engine._report import group_view
from .._engine._state import Capabilities, HostState
from .._systemd._mainline_map import Unsupported


def assume_tiers(actual: HostState, tiers: tuple[TierSpec, ...] | None) -> HostState:
    """``actual`` with its swap tier table replaced by ``tiers`` (unchanged when ``tiers`` is None, or when the
    kernel has no swap tiers at all: no earlier step can have planned any there)."""
    if tiers is None or actual.tiers is None:
        return actual
    return replace(actual, tiers=tuple(sorted(tiers, key=lambda t: -t.start_priority)))


def leave_out(wanted: HostPolicy, found: Iterable[Unsupported]) -> HostPolicy:
    """``wanted`` without what the findings name: a policy left at ``inherit``, cgroup members dropped."""
    by_group: dict[str, set[str]] = {}
    for finding in found:
        by_group.setdefault(finding.group, set()).add(finding.policy)
    if not by_group:
        return wanted
    groups = []
    for group in wanted.groups:
        drop = by_group.get(group.path, set())
        if drop:
            policies = {k: (INHERIT if k in drop else v) for k, v in group.policies.items()}
            members = group.members
            members = Members(() if "members.cgroups" in drop else members.cgroups,
                              () if "members.systemd_units" in drop else members.systemd_units, members.pids)
            group = replace(group, policies=policies, members=members)
        groups.append(group)
    return replace(wanted, groups=tuple(groups))


class PolicyfsPlanner:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def read(self, capabilities: Capabilities) -> HostState:
        return self.backend.read_state(capabilities)

    def state(self, view: HostState) -> HostState:
        return view

    def assume_tiers(self, view: HostState, tiers: tuple[TierSpec, ...] | None) -> HostState:
        return assume_tiers(view, tiers)

    def findings(self, wanted: HostPolicy, view: HostState) -> list[Unsupported]:
        features = set(view.capabilities.features)
        listed = " ".join(view.capabilities.features) or "(empty)"
        found: list[Unsupported] = []
        for group in sorted((g for g in wanted.groups if g.present), key=lambda g: g.path):
            for key in POLICY_KEYS:
                if group.policies.get(key, INHERIT) != INHERIT and key not in features:
                    found.append(Unsupported(group.path, key, f"this kernel has no {key} policy (policy.features: {listed})"))
            for kind in ("cgroups", "systemd_units"):
                if getattr(group.members, kind) and "bind" not in features:
                    found.append(Unsupported(group.path, f"members.{kind}", (
                        f"{kind} members are bound through policy.bind, and this kernel lacks the 'bind' feature "
                        f"(policy.features: {listed})")))
        return found

    def plan(self, wanted: HostPolicy, view: HostState, found: list[Unsupported], request: Request) -> Plan:
        resolved, skipped = resolve_members(leave_out(wanted, found), request.resolve_unit, self.backend.pid_exists,
                                            request.missing)
        return Plan(plan(resolved, view, purge=request.purge), skipped=skipped)

    def project(self, view: HostState, operations: Iterable[Operation]) -> HostState:
        return project(view, operations)

    def groups(self, view: HostState) -> dict[str, dict[str, Any]]:
        return {path: group_view(group) for path, group in view.groups.items()}
