# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one run loop of every backend: lock, read, findings, plan, project, apply, read back, report (stdlib only).

What differs between backends sits behind ``_planner.Planner`` (``_planner_policyfs``, ``_planner_systemd``): how the
host is read into a view, what it cannot express (findings), the plan, the projection of a plan onto a view and
the groups a view shows. Everything else, and the shape of the result, is here once, so both backends return
``changed``, ``backend``, ``changes``, ``diff``, ``groups``, ``unsupported`` and ``restart_required`` alike.

Modules and the boot-time restore call ``reconcile``; nothing here knows about Ansible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, Iterable, Mapping

from .._policyfs._planner_policyfs import PolicyfsPlanner
from .._systemd._backend_systemd import SystemdBackend
from .._systemd._mainline_map import Unsupported
from .._systemd._planner_systemd import SystemdPlanner
from ._apply import apply_plan
from ._backend import Backend
from ._errors import PolicyGroupsError, UnsupportedError
from ._lock import HostLock
from ._members import UnitResolver
from ._model import HostPolicy, TierSpec
from ._plan import Operation
from ._planner import Planner, Request, View
from ._report import tiers_diff
from ._state import HostState

UNSUPPORTED_CHOICES = ("fail", "warn")


class UnsupportedPolicyError(UnsupportedError):
    """The document asks for what this host cannot express; ``findings`` lists each group and policy."""

    def __init__(self, backend: str, found: list[Unsupported]) -> None:
        lines = "; ".join(str(f) for f in found)
        super().__init__(
            f"not supported on this host ({backend} backend), nothing was changed: {lines} "
            "(set unsupported=warn to apply the rest)"
        )
        self.backend = backend
        self.findings = found


@dataclass
class Outcome(Generic[View]):
    """What a run planned, did and left behind. ``after`` is projected in check mode, re-read otherwise."""

    planner: Planner[View]
    operations: list[Operation]
    before_view: View
    after_view: View
    check_mode: bool
    applied: list[Operation] = field(default_factory=list)
    failed: Operation | None = None
    error: str | None = None
    skipped: list[str] = field(default_factory=list)
    read_error: str | None = None
    remaining: list[Operation] = field(default_factory=list)
    restart_required: list[str] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)

    @property
    def backend(self) -> str:
        return self.planner.backend.name

    @property
    def before(self) -> HostState:
        return self.planner.state(self.before_view)

    @property
    def after(self) -> HostState:
        return self.planner.state(self.after_view)

    @property
    def groups(self) -> dict[str, dict[str, Any]]:
        return self.planner.groups(self.after_view)

    @property
    def ok(self) -> bool:
        return self.failed is None and self.read_error is None and not self.remaining

    @property
    def changed(self) -> bool:
        return bool(self.operations) if self.check_mode else bool(self.applied)

    @property
    def verify_error(self) -> str | None:
        if not self.remaining:
            return None
        return (f"after applying, {len(self.remaining)} change(s) are still planned (the host did not keep what was "
                f"written, or something changed it meanwhile): " + "; ".join(describe(op) for op in self.remaining))

    @property
    def shown(self) -> list[Operation]:
        """The operations the diff shows: all planned ones, or those applied when a run stopped early."""
        return self.operations if self.check_mode or self.failed is None else self.applied

    def result(self, diff: str = "groups") -> dict[str, Any]:
        """Module return values, the same keys on every backend (applied/failed_operation/msg on failure)."""
        before_groups = self.planner.groups(self.before_view)
        out: dict[str, Any] = {
            "changed": self.changed,
            "backend": self.backend,
            "changes": [op.to_dict() for op in self.operations],
            "diff": tiers_diff(self.before, self.after) if diff == "tiers" else groups_diff(before_groups, self.groups, self.shown),
            "groups": self.groups,
            "unsupported": [f.to_dict() for f in self.unsupported],
            "restart_required": list(self.restart_required),
        }
        if self.skipped:
            out["skipped_members"] = list(self.skipped)
        if self.remaining:
            out["verify_remaining"] = [op.to_dict() for op in self.remaining]
        if not self.ok:
            out["applied"] = [op.to_dict() for op in self.applied]
            out["msg"] = "; ".join(m for m in (self.error, self.read_error, self.verify_error) if m)
        if self.failed is not None:
            out["failed_operation"] = self.failed.to_dict()
        return out


def describe(op: Operation) -> str:
    """One operation as a person reads it: ``group: key before -> after``."""
    where = op.group if op.group is not None else "tiers"
    what = str(op.key) if op.op == "set_policy" else " ".join(p for p in (op.op, op.key) if p)
    if op.before is None and op.after is None:
        return f"{where}: {what}"
    return f"{where}: {what} {_text(op.before)} -> {_text(op.after)}"


def _text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "(empty)"
    return str(value)


def groups_diff(
    before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]], operations: Iterable[Operation]
) -> dict[str, dict[str, Any]]:
    """``{before, after}`` keyed by the path of every group an operation touches (absent side: no key)."""
    touched: set[str] = set()
    for op in operations:
        if op.group is not None:
            touched.add(op.group)
        if op.op == "move_members" and op.after:
            touched.add(str(op.after))
    result: dict[str, dict[str, Any]] = {"before": {}, "after": {}}
    for side, groups in (("before", before), ("after", after)):
        for path in sorted(touched):
            if path in groups:
                result[side][path] = {key: dict(groups[path][key]) for key in ("policies", "settings", "members")}
    return result


def planner_for(backend: Backend) -> Planner[Any]:
    """The planner of ``backend``."""
    if isinstance(backend, SystemdBackend):
        return SystemdPlanner(backend)
    return PolicyfsPlanner(backend)


def reconcile(
    backend: Backend,
    desired: Callable[[HostState], HostPolicy],
    *,
    purge: bool = False,
    check_mode: bool = False,
    lock_path: str,
    lock_timeout: float = 60.0,
    resolve_unit: UnitResolver | None = None,
    missing: str = "fail",
    planned_tiers: tuple[TierSpec, ...] | None = None,
    unsupported: str = "fail",
    restart_units: bool = False,
    verify: bool = False,
) -> Outcome[Any]:
    """Bring the host to ``desired(actual)``. Raises PolicyGroupsError subclasses before any write when the
    host or the document makes that impossible (with ``unsupported="fail"``, anything the host cannot
    express); a failure while applying, and a failed read of the host after applying, are in the Outcome.

    ``planned_tiers`` matters in check mode only: the swap tier table an earlier step of the same run would have
    written (the swap_tiers module's projected ``tiers``). The groups are checked and planned against it instead
    of the host's table, so a tier that run would create is not reported as missing.

    ``verify`` (outside check mode): once every operation is applied and the host read back, plan again against
    what was read, still under the lock; anything left (a write the host did not keep) makes the outcome fail with
    those operations in ``remaining``. It is the check-mode run a caller would otherwise make afterwards, without
    another round trip and without a window for another writer in between."""
    if unsupported not in UNSUPPORTED_CHOICES:
        raise ValueError(f"unsupported must be one of {UNSUPPORTED_CHOICES}")
    request = Request(purge, unsupported, restart_units, missing, resolve_unit)
    planner = planner_for(backend)
    capabilities = backend.require()
    with HostLock(lock_path, timeout=lock_timeout, shared=check_mode):
        before = planner.read(capabilities)
        basis = planner.assume_tiers(before, planned_tiers) if check_mode else before
        wanted = desired(planner.state(basis))
        found = planner.findings(wanted, basis)
        if found and unsupported == "fail":
            raise UnsupportedPolicyError(backend.name, found)
        planned = planner.plan(wanted, basis, found, request)
        if check_mode:
            return Outcome(planner, planned.operations, before, planner.project(basis, planned.operations), True,
                           skipped=planned.skipped, restart_required=planned.restart_required, unsupported=found)
        result = apply_plan(backend, planned.operations, missing)
        after = before
        read_error = None
        if result.applied:
            try:
                after = planner.read(capabilities)
            except PolicyGroupsError as exc:
                after = planner.project(before, result.applied)
                read_error = f"{len(result.applied)} operation(s) applied, but reading the host afterwards failed: {exc}"
        remaining: list[Operation] = []
        if verify and result.failed is None and read_error is None:
            wanted_after = desired(planner.state(after))
            remaining = planner.plan(wanted_after, after, planner.findings(wanted_after, after), request).operations
    return Outcome(planner, planned.operations, before, after, False, applied=result.applied, failed=result.failed,
                   error=result.error, skipped=planned.skipped + result.skipped, read_error=read_error, remaining=remaining,
                   restart_required=planned.restart_required, unsupported=found)
