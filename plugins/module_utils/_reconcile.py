# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One reconcile run: lock, read, resolve members, plan, apply (or project in check mode) (stdlib only).

Modules and the boot-time restore both call ``reconcile``; nothing here knows about Ansible.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ._apply import apply_plan
from ._backend import Backend
from ._errors import PolicyGroupsError
from ._lock import HostLock
from ._members import UnitResolver, resolve_members
from ._model import HostPolicy, TierSpec
from ._plan import Operation, plan
from ._project import project
from ._report import group_diff, groups_view, tiers_diff
from ._state import HostState


@dataclass
class Outcome:
    """What a run planned, did and left behind. ``after`` is projected in check mode, re-read otherwise."""

    operations: list[Operation]
    before: HostState
    after: HostState
    check_mode: bool
    applied: list[Operation] = field(default_factory=list)
    failed: Operation | None = None
    error: str | None = None
    skipped: list[str] = field(default_factory=list)
    read_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.failed is None and self.read_error is None

    @property
    def changed(self) -> bool:
        return bool(self.operations) if self.check_mode else bool(self.applied)

    def result(self, diff: str = "groups") -> dict[str, Any]:
        """Module return values: changed, changes, diff, groups (and applied/failed_operation/msg on failure)."""
        shown = self.operations if self.check_mode or self.failed is None else self.applied
        out: dict[str, Any] = {
            "changed": self.changed,
            "changes": [op.to_dict() for op in self.operations],
            "diff": tiers_diff(self.before, self.after) if diff == "tiers" else group_diff(self.before, self.after, shown),
            "groups": groups_view(self.after),
        }
        if self.skipped:
            out["skipped_members"] = list(self.skipped)
        if self.failed is not None:
            out["applied"] = [op.to_dict() for op in self.applied]
            out["failed_operation"] = self.failed.to_dict()
            out["msg"] = self.error
        elif self.read_error is not None:
            out["applied"] = [op.to_dict() for op in self.applied]
            out["msg"] = self.read_error
        return out


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
) -> Outcome:
    """Bring the host to ``desired(actual)``. Raises PolicyGroupsError subclasses before any write when the
    host or the document makes that impossible; a failure while applying is reported in the Outcome.

    ``planned_tiers`` matters in check mode only: the swap tier table an earlier step of the same run would have
    written (the swap_tiers module's projected ``tiers``). The groups are checked and planned against it instead
    of the host's table, so a tier that run would create is not reported as missing. Outside check mode that
    step has run and the host's own table is read."""
    capabilities = backend.require()
    with HostLock(lock_path, timeout=lock_timeout, shared=check_mode):
        actual = backend.read_state(capabilities)
        if check_mode:
            basis = assume_tiers(actual, planned_tiers)
            wanted, skipped = resolve_members(desired(basis), resolve_unit, backend.pid_exists, missing)
            operations = plan(wanted, basis, purge=purge)
            return Outcome(operations, actual, project(basis, operations), True, skipped=skipped)
        wanted, skipped = resolve_members(desired(actual), resolve_unit, backend.pid_exists, missing)
        operations = plan(wanted, actual, purge=purge)
        result = apply_plan(backend, operations, missing)
        read_error = None
        try:
            after = backend.read_state(capabilities) if result.applied else actual
        except PolicyGroupsError as exc:
            after = project(actual, result.applied)
            read_error = f"{len(result.applied)} operation(s) applied, but reading the host afterwards failed: {exc}"
    return Outcome(
        operations,
        actual,
        after,
        False,
        applied=result.applied,
        failed=result.failed,
        error=result.error,
        skipped=skipped + result.skipped,
        read_error=read_error,
    )


def assume_tiers(actual: HostState, tiers: tuple[TierSpec, ...] | None) -> HostState:
    """``actual`` with its swap tier table replaced by ``tiers`` (unchanged when ``tiers`` is None, or when the
    kernel has no swap tiers at all: no earlier step can have planned any there)."""
    if tiers is None or actual.tiers is None:
        return actual
    return replace(actual, tiers=tuple(sorted(tiers, key=lambda t: -t.start_priority)))
