# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systemd backend's half of a run (``_reconcile.Planner``; stdlib only, nothing here knows about Ansible).

The view is the host's drop-ins of this collection; findings are what mainline cannot express
(``_mainline_map.findings``); the plan renders the wanted drop-ins, reads the units' runtime state and
plans writes, removals, one daemon-reload, live values and restarts (``_mainline_plan``). Left-out findings
(``unsupported="warn"``) are dropped from the rendered values, together with what descendants inherit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from .._engine._errors import UnsupportedError
from .._engine._members import known_units
from .._engine._model import HostPolicy, TierSpec, document_policies
from .._engine._plan import Operation
from .._engine._planner import Plan, Request
from .._engine._state import Capabilities, HostState
from ._backend_systemd import SystemdBackend, state_from, units_from
from ._dropins import Dropin
from ._mainline_map import Unsupported, findings, left_out_of, unit_properties
from ._mainline_plan import plan_dropins


@dataclass(frozen=True)
class DropinView:
    """The drop-ins ``{unit: [drop-ins]}`` of this collection on a host, with the capabilities probed."""

    dropins: Mapping[str, list[Dropin]]
    capabilities: Capabilities


def after_applying(dropins: Mapping[str, list[Dropin]], applied: Iterable[Operation]) -> dict[str, list[Dropin]]:
    """The drop-ins ``{unit: [drop-ins]}`` as ``applied`` leaves them, from those read before (check mode's
    projection, and the groups reported when the host cannot be read again)."""
    files = {(d.unit, d.group): d.content for unit_dropins in dropins.values() for d in unit_dropins}
    for op in applied:
        if op.op == "write_dropin":
            files[(str(op.key), str(op.group))] = str(op.after)
        elif op.op == "remove_dropin":
            files.pop((str(op.key), str(op.group)), None)
    result: dict[str, list[Dropin]] = {}
    for (unit, group), content in sorted(files.items()):
        result.setdefault(unit, []).append(Dropin(unit, group, content))
    return result


def group_entry(path: str, policies: Mapping[str, str], units: list[str]) -> dict[str, Any]:
    """One group of the module's ``groups`` return value (members: its units; no cgroups or PIDs here)."""
    parent_path = path.rpartition("/")[0]
    return {
        "name": path.rpartition("/")[2],
        "parent": parent_path.rpartition("/")[2] or None,
        "policies": dict(policies),
        "settings": document_policies(policies),
        "members": {"cgroups": [], "systemd_units": list(units), "pids": []},
    }


def view_groups(state: HostState, units: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
    return {path: group_entry(path, group.policies, units.get(path, [])) for path, group in state.groups.items()}


class SystemdPlanner:
    def __init__(self, backend: SystemdBackend) -> None:
        self.backend = backend

    def read(self, capabilities: Capabilities) -> DropinView:
        return DropinView(self.backend.read_dropins(), capabilities)

    def state(self, view: DropinView) -> HostState:
        return state_from(view.dropins, view.capabilities)

    def assume_tiers(self, view: DropinView, tiers: tuple[TierSpec, ...] | None) -> DropinView:
        return view  # no swap tiers on a mainline kernel

    def findings(self, wanted: HostPolicy, view: DropinView) -> list[Unsupported]:
        return findings(wanted, self.backend.support)

    def plan(self, wanted: HostPolicy, view: DropinView, found: list[Unsupported], request: Request) -> Plan:
        if wanted.tiers is not None:
            # A tier table asked of a mainline kernel: refused before any write, as the policyfs planner refuses
            # it on a kernel without the tiers file, never answered with an empty table.
            raise UnsupportedError("swap tiers are not supported by this kernel (no /sys/kernel/mm/swap/tiers)")
        # a unit systemd does not know (or masked) fails the run, or is left out and reported, as with policyfs
        known, skipped = known_units(wanted, request.resolve_unit, request.missing)
        properties = unit_properties(known, left_out_of(found, known))
        pending = self.backend.read_pending()  # what a stopped run took away and may not have finished
        units = sorted({unit for unit, _group in properties} | set(view.dropins) | set(pending))
        runtime = self.backend.read_runtime(units)
        managed = frozenset(g.name for g in wanted.groups)
        absent = tuple(g.path for g in wanted.groups if not g.present)
        planned = plan_dropins(properties, view.dropins, runtime, managed, request.purge, absent, pending)
        operations = list(planned.operations)
        restart_required = list(planned.restart_required)
        if request.restart_units and restart_required:
            operations.extend(Operation("restart", None, unit) for unit in restart_required)
            restart_required = []
        return Plan(operations, restart_required, skipped=skipped)

    def project(self, view: DropinView, operations: Iterable[Operation]) -> DropinView:
        return DropinView(after_applying(view.dropins, operations), view.capabilities)

    def groups(self, view: DropinView) -> dict[str, dict[str, Any]]:
        return view_groups(self.state(view), units_from(view.dropins))
