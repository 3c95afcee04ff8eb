# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One run of the systemd backend: lock, probe, render, check what mainline cannot express, plan, apply
(stdlib only; nothing here knows about Ansible).

Unsupported settings (``_mainline_map.findings``) fail the run before any write with ``unsupported="fail"``
(the default); with ``"warn"`` they are left out, reported, and the rest is applied.

A run that changed the host says so even when it fails afterwards: a failed operation reports the ones
applied before it, and a failed read of the host after applying reports all that was applied, with the
groups projected from the drop-ins read before the run and the ones written or removed since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from ._apply import apply_plan
from ._backend_systemd import SystemdBackend, state_from, units_from
from ._dropins import Dropin, dropin_path
from ._errors import PolicyGroupsError, UnsupportedError
from ._lock import HostLock
from ._mainline_map import Unsupported, findings, left_out_of, unit_properties
from ._mainline_plan import plan_dropins
from ._model import HostPolicy
from ._plan import Operation
from ._state import Capabilities, HostState

UNSUPPORTED_CHOICES = ("fail", "warn")


class MainlineUnsupportedError(UnsupportedError):
    """The document asks for what this host cannot express; ``findings`` lists each group and policy."""

    def __init__(self, found: list[Unsupported]) -> None:
        lines = "; ".join(str(f) for f in found)
        super().__init__(
            f"not supported on this host (systemd backend), nothing was changed: {lines} "
            "(set unsupported=warn to apply the rest)"
        )
        self.findings = found


@dataclass
class MainlineOutcome:
    operations: list[Operation]
    check_mode: bool
    groups: dict[str, dict[str, Any]]
    restart_required: list[str] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    applied: list[Operation] = field(default_factory=list)
    failed: Operation | None = None
    error: str | None = None
    read_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None and self.read_error is None

    @property
    def changed(self) -> bool:
        return bool(self.operations) if self.check_mode else bool(self.applied)

    def result(self) -> dict[str, Any]:
        shown = self.operations if self.check_mode or self.failed is None else self.applied
        out: dict[str, Any] = {
            "changed": self.changed,
            "backend": "systemd",
            "changes": [op.to_dict() for op in self.operations],
            "diff": dropin_diff(shown),
            "groups": self.groups,
            "restart_required": list(self.restart_required),
            "unsupported": [f.to_dict() for f in self.unsupported],
        }
        if not self.ok:
            out["applied"] = [op.to_dict() for op in self.applied]
            out["msg"] = "; ".join(m for m in (self.error, self.read_error) if m)
        if self.failed is not None:
            out["failed_operation"] = self.failed.to_dict()
        return out


def dropin_diff(operations: list[Operation]) -> list[dict[str, str]]:
    """Ansible's list form of diff: before/after text of each drop-in written or removed."""
    diffs = []
    for op in operations:
        if op.op in ("write_dropin", "remove_dropin"):
            path = dropin_path(str(op.key), str(op.group))
            diffs.append({"before_header": path, "after_header": path, "before": op.before or "", "after": op.after or ""})
    return diffs


def groups_view(backend: SystemdBackend, state: HostState) -> dict[str, dict[str, Any]]:
    """The groups of ``state`` with their units, as the host's drop-ins record them (read again here)."""
    return view(state, backend.units_by_group())


def dropins_view(dropins: Mapping[str, list[Dropin]], capabilities: Capabilities) -> dict[str, dict[str, Any]]:
    """The groups the drop-ins ``{unit: [drop-ins]}`` record, with their units."""
    return view(state_from(dropins, capabilities), units_from(dropins))


def view(state: HostState, units: Mapping[str, list[str]]) -> dict[str, dict[str, Any]]:
    return {path: group_entry(path, group.policies, units.get(path, [])) for path, group in state.groups.items()}


def after_applying(dropins: Mapping[str, list[Dropin]], applied: list[Operation]) -> dict[str, list[Dropin]]:
    """The drop-ins ``{unit: [drop-ins]}`` as ``applied`` left them, from those read before; for when the host
    cannot be read again."""
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
        "members": {"systemd_units": list(units), "cgroups": [], "pids": []},
    }


def reconcile_systemd(
    backend: SystemdBackend,
    desired: Callable[[HostState], HostPolicy],
    *,
    purge: bool = False,
    check_mode: bool = False,
    lock_path: str,
    lock_timeout: float = 60.0,
    unsupported: str = "fail",
    restart_units: bool = False,
) -> MainlineOutcome:
    """Bring the host's drop-ins to ``desired``. Raises before any write for an unusable host, a bad document
    or (``unsupported="fail"``) anything mainline cannot express; failures while applying, and a failed read
    of the host after applying, are in the outcome with what was applied."""
    if unsupported not in UNSUPPORTED_CHOICES:
        raise ValueError(f"unsupported must be one of {UNSUPPORTED_CHOICES}")
    capabilities = backend.require()
    with HostLock(lock_path, timeout=lock_timeout, shared=check_mode):
        dropins = backend.read_dropins()
        actual = state_from(dropins, capabilities)
        wanted_policy = desired(actual)
        found = findings(wanted_policy, backend.support)
        if found and unsupported == "fail":
            raise MainlineUnsupportedError(found)
        wanted = unit_properties(wanted_policy, left_out_of(found, wanted_policy))
        runtime = backend.read_runtime(sorted({unit for unit, _group in wanted} | set(dropins)))
        managed = frozenset(g.name for g in wanted_policy.groups)
        planned = plan_dropins(wanted, dropins, runtime, managed, purge)
        operations = list(planned.operations)
        restart_required = list(planned.restart_required)
        if restart_units and restart_required:
            operations.extend(Operation("restart", None, unit) for unit in restart_required)
            restart_required = []
        if check_mode:
            return MainlineOutcome(operations, True, dropins_view(dropins, capabilities), restart_required, found)
        result = apply_plan(backend, operations)
        read_error = None
        try:
            groups = dropins_view(backend.read_dropins() if result.applied else dropins, capabilities)
        except PolicyGroupsError as exc:
            groups = dropins_view(after_applying(dropins, result.applied), capabilities)
            read_error = f"{len(result.applied)} operation(s) applied, but reading the host afterwards failed: {exc}"
        return MainlineOutcome(
            operations, False, groups, restart_required, found,
            applied=result.applied, failed=result.failed, error=result.error, read_error=read_error,
        )
