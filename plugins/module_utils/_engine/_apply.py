# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Execute a plan in order, stopping at the first failure (stdlib only).

Each operation is one kernel write (or mkdir/rmdir), which the kernel applies whole or not at all, so after a
failure the host is exactly in the state "plan up to ``applied``": the result says which operations were done
and which one failed. The caller holds the host lock (see ``_reconcile``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ._backend import Backend
from ._errors import BackendError, ProcessGoneError
from ._plan import Operation


@dataclass
class ApplyResult:
    applied: list[Operation] = field(default_factory=list)
    failed: Operation | None = None
    error: str | None = None
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed is None


def apply_plan(backend: Backend, operations: Sequence[Operation], missing: str = "fail") -> ApplyResult:
    """Apply ``operations`` in order. With ``missing="skip"`` a process that exits between planning and its
    ``join_pid`` is reported in ``skipped`` instead of failing the run."""
    result = ApplyResult()
    for operation in operations:
        try:
            backend.apply(operation)
        except ProcessGoneError as exc:
            if missing == "skip" and operation.op == "join_pid":
                result.skipped.append(str(exc))
                continue
            result.failed, result.error = operation, str(exc)
            return result
        except BackendError as exc:
            result.failed, result.error = operation, str(exc)
            return result
        result.applied.append(operation)
    return result
