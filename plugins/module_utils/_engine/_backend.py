# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backend interface the engine talks to (stdlib only).

A backend maps the model onto one kind of kernel interface. The engine only ever calls these methods, so a
second backend (mainline cgroup v2 + systemd properties) plugs in without engine changes: it reports what it
cannot express through ``Capabilities.features`` and the planner refuses those policies before any write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable, Protocol

from ._errors import BackendError, NotAvailableError
from ._io import FlatKeyed, HostIO, Labeller
from ._procfs import pid_exists

if TYPE_CHECKING:
    from ._plan import Operation
    from ._state import Capabilities, HostState
    from ._systemctl import Runner

BACKEND_CHOICES = ("auto", "policyfs", "systemd")
DEFAULT_POLICY_ROOT = "/sys/fs/cgroup/policy"


class Backend(Protocol):
    """What a backend provides. ``probe`` never raises for a missing feature: it reports it."""

    name: str

    def probe(self) -> Capabilities:
        """Find out whether and how this host supports policy groups; writes nothing."""

    def require(self) -> Capabilities:
        """``probe``, then raise NotAvailableError/UnsupportedError unless the backend is usable."""

    def read_state(self, capabilities: Capabilities | None = None, effective: bool = False) -> HostState:
        """The host's actual tiers, groups, policies, bindings and members (and effective values if asked)."""

    def read_stats(self, capabilities: Capabilities, groups: Iterable[str]) -> dict[str, FlatKeyed]:
        """The statistics of each of ``groups`` (paths) by path; raise UnsupportedError, before reading anything,
        when this host keeps no per-group statistics."""

    def apply(self, operation: Operation) -> None:
        """Carry out one planned operation; raise BackendError (nothing changed by this operation) on failure."""

    def pid_exists(self, pid: int) -> bool:
        """Whether a process with this PID exists now."""


class OperationDispatch:
    """What every backend does the same way: each operation ``op`` is carried out by its method ``_op_<op>``."""

    name: str
    io: HostIO

    def pid_exists(self, pid: int) -> bool:
        return pid_exists(self.io, pid)

    def apply(self, operation: Operation) -> None:
        handler: Callable[[Operation], None] | None = getattr(self, f"_op_{operation.op}", None)
        if handler is None:
            raise BackendError(f"the {self.name} backend has no operation {operation.op!r}")
        handler(operation)


def make_backend(
    name: str = "auto", root: str = "/", policy_root: str = DEFAULT_POLICY_ROOT, runner: Runner | None = None,
    label: Labeller | None = None,
) -> Backend:
    """The backend called ``name``; ``auto`` probes each known backend in order (policyfs, then systemd) and
    takes the first available one. ``runner`` runs ``systemctl`` for the systemd backend; ``label`` labels the
    files it writes whole (its drop-ins, see ``_io.replace_nofollow``)."""
    from .._policyfs._backend_policyfs import PolicyfsBackend
    from .._systemd._backend_systemd import SystemdBackend

    candidates: dict[str, Callable[[], Backend]] = {
        "policyfs": lambda: PolicyfsBackend(root=root, policy_root=policy_root),
        "systemd": lambda: SystemdBackend(root=root, runner=runner, label=label),
    }
    if name != "auto":
        if name not in candidates:
            raise NotAvailableError(f"unknown backend {name!r} (known: {', '.join(candidates)})")
        return candidates[name]()
    backends: list[Backend] = [factory() for factory in candidates.values()]
    for backend in backends:
        if backend.probe().available:
            return backend
    # none is available: the first one's require() explains why
    return backends[0]
