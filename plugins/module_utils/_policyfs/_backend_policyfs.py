# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``policyfs`` backend: the reference kernel's policy-group hierarchy, ABI version 1 (stdlib only).

Follows docs/policyfs-abi.md: groups are directories under ``policy_root``; each policy is one file written
as a whole value; membership through ``policy.bind`` and ``cgroup.procs``; tier definitions through one batch
write to /sys/kernel/mm/swap/tiers. Every OSError is turned into a message that names the group, the file
and what the errno means for that file.
"""

from __future__ import annotations

import errno as E
from typing import Callable, Iterable

from .._engine._backend import OperationDispatch
from .._engine._errors import BackendError, NotAvailableError, ProcessGoneError, UnsupportedError
from .._engine._io import FlatKeyed, HostIO
from .._engine._model import POLICY_KEYS, TierSpec
from .._engine._plan import ROOT, Operation
from .._engine._procfs import cgroup_controllers, kernel_release, online_nodes, swap_devices
from .._engine._state import Capabilities, GroupState, HostState
from .._engine._swaptiers import change_batch, parse_table
from .._engine._unit_cgroup import is_unit_cgroup_path

SUPPORTED_ABI_VERSIONS = (1,)
CGROUP2_ROOT = "/sys/fs/cgroup"
TIERS_FILE = "/sys/kernel/mm/swap/tiers"
POLICY_FILES = {
    "thp": "policy.thp",
    "ksm": "policy.ksm",
    "oom_score_adj": "policy.oom_score_adj",
    "swap_tiers": "policy.swap.tiers",
    "zswap_writeback": "policy.zswap.writeback",
    "numa": "policy.numa",
    "mem_priority": "policy.mem_priority",
}
STAT_FILE = "policy.stat"
STAT_FEATURE = "stat"
MOVE_ROUNDS = 20

_POLICY_ERRORS = {
    E.EINVAL: "the kernel rejected the value (EINVAL)",
    E.ERANGE: "the value is out of range (ERANGE)",
    E.ENOENT: "a named swap tier is not defined (ENOENT)",
    E.ENODEV: "the group is being removed (ENODEV)",
}
_TIER_ERRORS = {
    E.EINVAL: "bad name or syntax, or the tiers would not cover -1..32767 (EINVAL)",
    E.EEXIST: "a tier with that name exists (EEXIST)",
    E.ENOENT: "a tier to remove does not exist (ENOENT)",
    E.ENOSPC: "more tiers than the kernel allows, see CONFIG_NR_SWAP_TIERS (ENOSPC)",
    E.EBUSY: (
        "a tier covers an active swap device, a start priority is already used, or a group still names a "
        "removed tier (EBUSY)"
    ),
}


def _group(op: Operation) -> str:
    if not op.group:
        raise BackendError(f"operation {op.op!r} needs a group")
    return op.group


def _strerror(exc: OSError) -> str:
    name = E.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or exc}" + (f" ({name})" if name else "")


class PolicyfsBackend(OperationDispatch):
    """Policy groups through the reference kernel's policyfs ABI. ``root`` re-roots every host path."""

    name = "policyfs"

    def __init__(self, root: str = "/", policy_root: str = "/sys/fs/cgroup/policy", io: HostIO | None = None,
                 cgroup_root: str = CGROUP2_ROOT) -> None:
        self.io = io if io is not None else HostIO(root)
        self.policy_root = "/" + policy_root.strip("/")
        self.cgroup_root = "/" + cgroup_root.strip("/")

    # -- paths -------------------------------------------------------------------------------------------------
    def _dir(self, group: str) -> str:
        return self.policy_root if group == ROOT else f"{self.policy_root}/{group}"

    def _file(self, group: str, name: str) -> str:
        return f"{self._dir(group)}/{name}"

    # -- probe -------------------------------------------------------------------------------------------------
    def probe(self) -> Capabilities:
        release = kernel_release(self.io)
        tiers = self.io.exists(TIERS_FILE)
        abi_file = self._file(ROOT, "policy.abi_version")
        if not self.io.exists(abi_file):
            return Capabilities(self.name, False, self._why_unavailable(release), None, (), release, tiers)
        try:
            abi = int(self.io.read(abi_file).strip())
            features = tuple(self.io.read(self._file(ROOT, "policy.features")).split())
        except (OSError, ValueError) as exc:
            reason = f"policy groups are not usable on this host: cannot read {abi_file} or policy.features: {exc}"
            return Capabilities(self.name, False, reason, None, (), release, tiers)
        return Capabilities(self.name, True, None, abi, features, release, tiers)

    def _why_unavailable(self, release: str | None) -> str:
        kernel = f"kernel {release}" if release else "the kernel"
        controllers = cgroup_controllers(self.io)
        prefix = "policy groups are not available on this host: "
        if controllers is not None and "policy" in controllers:
            return (
                f"{prefix}{kernel} has the 'policy' cgroup controller but nothing is mounted at {self.policy_root} "
                f"(mount -t cgroup -o policy none {self.policy_root})"
            )
        if controllers is None:
            return f"{prefix}/proc/cgroups is unreadable and nothing is mounted at {self.policy_root}"
        return f"{prefix}{kernel} has no 'policy' cgroup controller (/proc/cgroups) and nothing is mounted at {self.policy_root}"

    def require(self) -> Capabilities:
        capabilities = self.probe()
        if not capabilities.available:
            raise NotAvailableError(capabilities.reason or "policy groups are not available on this host")
        if capabilities.abi_version not in SUPPORTED_ABI_VERSIONS:
            known = ", ".join(map(str, SUPPORTED_ABI_VERSIONS))
            raise UnsupportedError(
                f"unsupported policy ABI version {capabilities.abi_version} at {self.policy_root} "
                f"(this collection knows version {known})"
            )
        return capabilities

    # -- read --------------------------------------------------------------------------------------------------
    def read_state(self, capabilities: Capabilities | None = None, effective: bool = False) -> HostState:
        caps = capabilities or self.require()
        tiers = self.read_tiers() if caps.tiers_supported else None
        groups: dict[str, GroupState] = {}
        pending = [""]
        while pending:
            parent = pending.pop()
            try:
                children = self.io.subdirs(self._dir(parent))
            except OSError as exc:
                raise BackendError(f"cannot list {self._dir(parent)}: {_strerror(exc)}", exc.errno) from exc
            for child in children:
                path = f"{parent}/{child}" if parent else child
                groups[path] = self._read_group(path, caps.features, effective)
                pending.append(path)
        return HostState(
            capabilities=caps,
            tiers=tiers,
            groups=dict(sorted(groups.items())),
            swap_devices=swap_devices(self.io, tiers),
            online_nodes=online_nodes(self.io),
        )

    def read_tiers(self) -> tuple[TierSpec, ...]:
        try:
            return parse_table(self.io.read(TIERS_FILE))
        except OSError as exc:
            raise BackendError(f"cannot read {TIERS_FILE}: {_strerror(exc)}", exc.errno) from exc

    def read_stats(self, capabilities: Capabilities, groups: Iterable[str]) -> dict[str, FlatKeyed]:
        """Each group's ``policy.stat`` (every key, known or not; lines of another form left out with a message).
        The root group has none and is never asked for."""
        if STAT_FEATURE not in capabilities.features:
            listed = " ".join(capabilities.features) or "(empty)"
            raise UnsupportedError(
                f"stats: this kernel has no {STAT_FILE} (feature {STAT_FEATURE!r} is not in "
                f"{self._file(ROOT, 'policy.features')}: {listed})"
            )
        stats: dict[str, FlatKeyed] = {}
        for group in groups:
            path = self._file(group, STAT_FILE)
            try:
                stats[group] = self.io.read_flat_keyed(path)
            except OSError as exc:
                why = self._gone(group) or _strerror(exc)
                raise BackendError(f"group {group!r}: cannot read {path}: {why}", exc.errno) from exc
        return stats

    def _read(self, group: str, name: str) -> str:
        path = self._file(group, name)
        try:
            return self.io.read(path)
        except OSError as exc:
            raise BackendError(f"cannot read {path}: {_strerror(exc)}", exc.errno) from exc

    def _read_group(self, path: str, features: tuple[str, ...], with_effective: bool) -> GroupState:
        try:
            with self.io.directory(self._dir(path)) as read_file:
                return self._group_state(path, features, with_effective, lambda name: self._read_in(read_file, path, name))
        except OSError:
            # The directory itself cannot be opened (removed meanwhile, say): read file by file, so that the
            # error names the file as it always did.
            return self._group_state(path, features, with_effective, lambda name: self._read(path, name))

    def _read_in(self, read_file: Callable[[str], str], group: str, name: str) -> str:
        try:
            return read_file(name)
        except OSError as exc:
            raise BackendError(f"cannot read {self._file(group, name)}: {_strerror(exc)}", exc.errno) from exc

    @staticmethod
    def _group_state(path: str, features: tuple[str, ...], with_effective: bool, read: Callable[[str], str]) -> GroupState:
        policies = {key: read(POLICY_FILES[key]).strip() for key in POLICY_KEYS if key in features}
        bindings = tuple(sorted(read("policy.bind").split())) if "bind" in features else ()
        pids = tuple(sorted(int(p) for p in read("cgroup.procs").split()))
        effective: dict[str, str] = {}
        for line in read("policy.effective").splitlines() if with_effective else ():
            key, _sep, value = line.strip().partition(" ")
            if key:
                effective[key] = value.strip()
        return GroupState(path=path, policies=policies, bindings=bindings, pids=pids, effective=effective)

    # -- apply -------------------------------------------------------------------------------------------------
    def _gone(self, group: str) -> str | None:
        """Why a write into (or a read from) ``group`` failed when the group itself is gone (another process removed
        it after this run read the host): ENOENT from the file alone would blame the value."""
        if group and not self.io.isdir(self._dir(group)):
            return "the group no longer exists (removed by another process during this run)"
        return None

    def _op_set_tiers(self, op: Operation) -> None:
        batch = change_batch(op.before or (), op.after or ())
        try:
            self.io.write(TIERS_FILE, batch)
        except OSError as exc:
            why = _TIER_ERRORS.get(exc.errno or 0, _strerror(exc))
            raise BackendError(f"swap tier change {batch!r} refused: {why}; nothing was changed", exc.errno) from exc

    def _op_create_group(self, op: Operation) -> None:
        group = _group(op)
        path = self._dir(group)
        try:
            self.io.mkdir(path)
        except OSError as exc:
            why = {
                E.EEXIST: "it already exists",
                E.EINVAL: "the kernel rejected the name",
                E.ENOENT: "its parent group does not exist",
            }.get(exc.errno or 0, _strerror(exc))
            raise BackendError(f"cannot create group {group!r} ({path}): {why}", exc.errno) from exc

    def _op_set_policy(self, op: Operation) -> None:
        group, key = _group(op), op.key or ""
        if key not in POLICY_FILES:
            raise BackendError(f"group {group!r}: unknown policy {key!r}")
        name = POLICY_FILES[key]
        try:
            self.io.write(self._file(group, name), str(op.after))
        except OSError as exc:
            why = self._gone(group) or _POLICY_ERRORS.get(exc.errno or 0, _strerror(exc))
            raise BackendError(f"group {group!r}: writing {op.after!r} to {name} failed: {why}", exc.errno) from exc

    def _op_bind(self, op: Operation) -> None:
        self._create_unit_cgroup(str(op.after))
        self._write_bind(op, f"+{op.after}", {
            E.ENOENT: f"cgroup {op.after} does not exist",
            E.EBUSY: f"cgroup {op.after} is bound to another policy group",
            E.EINVAL: f"{op.after!r} is not an absolute, normalised cgroup v2 path",
        })

    def _create_unit_cgroup(self, path: str) -> None:
        """A unit that is not running has no cgroup yet; the kernel binds only a cgroup that exists. Create the
        one systemd will put the unit in (``<slice path>/<unit>``, with any missing slice above it): systemd adopts
        it when the unit starts, and the binding, kept by path, holds across the unit's later stops and starts.
        Any other path must exist already (a mistyped path stays an error, not an empty cgroup)."""
        if not is_unit_cgroup_path(path) or self.io.isdir(f"{self.cgroup_root}{path}"):
            return
        current = self.cgroup_root
        for part in path[1:].split("/"):
            current = f"{current}/{part}"
            if self.io.isdir(current):
                continue
            try:
                self.io.mkdir(current)
            except FileExistsError:
                continue
            except OSError as exc:
                raise BackendError(f"cannot create cgroup {current} for a unit that has not started yet: "
                                   f"{_strerror(exc)}", exc.errno) from exc

    def _op_unbind(self, op: Operation) -> None:
        self._write_bind(op, f"-{op.before}", {E.ENOENT: f"cgroup {op.before} is not bound to this group"})

    def _write_bind(self, op: Operation, value: str, reasons: dict[int, str]) -> None:
        group = _group(op)
        try:
            self.io.write(self._file(group, "policy.bind"), value)
        except OSError as exc:
            why = self._gone(group) or reasons.get(exc.errno or 0, _strerror(exc))
            raise BackendError(f"group {group!r}: writing {value!r} to policy.bind failed: {why}", exc.errno) from exc

    def _op_join_pid(self, op: Operation) -> None:
        group = _group(op)
        self._move_pid(int(op.after), group)

    def _move_pid(self, pid: int, group: str) -> None:
        try:
            self.io.write(self._file(group, "cgroup.procs"), str(pid))
        except OSError as exc:
            where = f"group {group!r}" if group else "the root group"
            if exc.errno == E.ESRCH:
                raise ProcessGoneError(f"{where}: process {pid} does not exist (ESRCH)", pid, exc.errno) from exc
            why = "it is a kernel thread or not a PID (EINVAL)" if exc.errno == E.EINVAL else _strerror(exc)
            raise BackendError(f"{where}: cannot move process {pid} here: {why}", exc.errno) from exc

    def _op_move_members(self, op: Operation) -> None:
        group = _group(op)
        target = op.after or ROOT
        for _round in range(MOVE_ROUNDS):
            pids = [int(p) for p in self._read(group, "cgroup.procs").split()]
            if not pids:
                return
            for pid in pids:
                try:
                    self._move_pid(pid, target)
                except ProcessGoneError:
                    continue
        raise BackendError(f"group {group!r} kept gaining processes while they were moved out ({MOVE_ROUNDS} rounds)")

    def _op_remove_group(self, op: Operation) -> None:
        group = _group(op)
        try:
            self.io.rmdir(self._dir(group))
        except OSError as exc:
            if exc.errno == E.EBUSY:
                raise BackendError(
                    f"cannot remove group {group!r}: it still has members, child groups or bindings (EBUSY)", exc.errno
                ) from exc
            why = "it does not exist" if exc.errno == E.ENOENT else _strerror(exc)
            raise BackendError(f"cannot remove group {group!r}: {why}", exc.errno) from exc
