# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface between the run loop (``_reconcile``) and each backend's planner (stdlib only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, TypeVar

from .._systemd._mainline_map import Unsupported
from ._backend import Backend
from ._members import UnitResolver
from ._model import HostPolicy, TierSpec
from ._plan import Operation
from ._state import Capabilities, HostState

View = TypeVar("View")


@dataclass
class Plan:
    operations: list[Operation]
    restart_required: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Request:
    """What a run is asked to do, beyond the desired policy."""

    purge: bool = False
    unsupported: str = "fail"
    restart_units: bool = False
    missing: str = "fail"
    resolve_unit: UnitResolver | None = None


class Planner(Protocol[View]):
    """The backend-specific half of a run. A view is whatever the planner reads the host into."""

    @property
    def backend(self) -> Backend:
        """The backend whose operations the plan holds."""

    def read(self, capabilities: Capabilities) -> View:
        """The host as this backend manages it."""

    def state(self, view: View) -> HostState:
        """The groups and tiers of ``view`` (what ``desired`` is computed from)."""

    def assume_tiers(self, view: View, tiers: tuple[TierSpec, ...] | None) -> View:
        """``view`` with the tier table an earlier step of the same run would have written (check mode)."""

    def findings(self, wanted: HostPolicy, view: View) -> list[Unsupported]:
        """What ``wanted`` asks that this host cannot express."""

    def plan(self, wanted: HostPolicy, view: View, found: list[Unsupported], request: Request) -> Plan:
        """Operations taking the host to ``wanted``, leaving out ``found``; raises before any write."""

    def project(self, view: View, operations: Iterable[Operation]) -> View:
        """``view`` as ``operations`` would leave it (check mode, and after a failed read-back)."""

    def groups(self, view: View) -> dict[str, dict[str, Any]]:
        """The module's ``groups``: ``{path: {name, parent, policies, members: {cgroups, systemd_units, pids}}}``."""
