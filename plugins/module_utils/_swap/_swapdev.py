# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One swap device (zram, file or partition) at its priority: observe, plan, apply (stdlib only).

The plan is a list of operations computed before anything is written, so check mode reports exactly what a run
would do. What is read of the host, and the commands (``swapon``, ``swapoff``, ``mkswap``, ``modprobe``), go
through ``_swaphost.SwapHost``; every file written is reached without following a symbolic link (``_io``).

Persistence is ``/etc/fstab``: one swap line per device with ``pri=``, the file Debian's installer writes its
swap line to and the one ``swapon -a`` and systemd's fstab generator read; the device's existing line is edited
in place (its spec, ``UUID=`` or path, and its other options kept). A zram device also gets a udev rule that
sets it up at boot (``_zram``).
"""

from __future__ import annotations

import errno
import functools
import os
import stat
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from .._engine._errors import BackendError, PlanError, PolicyGroupsError
from .._engine._io import makedirs_nofollow, open_nofollow, parent_fd, replace_nofollow
from .._engine._model import PRIO_MAX, TierSpec
from .._engine._swaptiers import tier_of
from . import _fstab, _zram
from ._size import format_size, parse_size
from ._swaphost import TIERS_FILE, Active, SwapHost, write_refusal

TYPES = ("zram", "file", "partition")
STATES = ("present", "absent")
# swapon -p takes 0..32767; -1 is where the lowest tier starts, but a device given no priority gets -2, -3, ...
PRIORITY_MIN = 0
# zram's disksize_store() rounds a size up to whole pages
PAGE_SIZE = os.sysconf("SC_PAGESIZE")
# A swap file is made and formatted under this name in its directory, then linked into place: the path holds a
# swap area or nothing, and what a killed run left under this name is the module's to remove.
NEW_FILE = ".{name}.policygroups-new"


@dataclass(frozen=True)
class DeviceSpec:
    """What the module was asked for, validated; ``priority`` is resolved from ``tier`` when one was named."""

    path: str
    type: str
    state: str = "present"
    priority: int | None = None
    tier: str | None = None
    size: int | None = None
    algorithm: str | None = None
    persistent: bool = True


@dataclass
class Observed:
    """The device on the host now."""

    exists: bool = False
    active: Active | None = None
    size: int | None = None
    algorithm: str | None = None
    algorithms: tuple[str, ...] = ()
    signature: bool = False
    mode: int | None = None
    owner: tuple[int, int] | None = None  # a file's uid and gid
    module_loaded: bool = True
    zram_used: int = 0
    zram_stored: int = 0
    fstab_text: str = ""
    fstab_lines: tuple[str, ...] = ()
    files: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """One step of the plan: what it changes, from what to what, and the call that does it."""

    op: str
    before: Any
    after: Any
    run: Callable[[], None] = field(compare=False, repr=False)
    target: str | None = None  # the file a write_file or remove_file is about (default: the device)

    def to_dict(self, path: str) -> dict[str, Any]:
        return {"op": self.op, "path": self.target or path, "before": self.before, "after": self.after}


def tier_priority(name: str, tiers: Sequence[TierSpec]) -> int:
    """The lowest priority a device can be swapped on with inside tier ``name``."""
    ordered = sorted(tiers, key=lambda t: -t.start_priority)
    for position, tier in enumerate(ordered):
        if tier.name == name:
            end = ordered[position - 1].start_priority - 1 if position else PRIO_MAX
            priority = max(tier.start_priority, PRIORITY_MIN)
            if priority > end:
                raise PlanError(f"swap tier {name!r} covers only priority {tier.start_priority}..{end}, which swapon "
                                f"cannot give a device (it takes {PRIORITY_MIN}..{PRIO_MAX})")
            return priority
    known = ", ".join(t.name for t in ordered) or "none"
    raise PlanError(f"swap tier {name!r} is not defined (tiers: {known})")


def device_spec(params: dict[str, Any], tiers: Sequence[TierSpec] | None) -> DeviceSpec:
    """Validate the module's parameters; ``tiers`` resolves a tier name (None: no tier table to resolve with)."""
    path, kind, state = params["path"], params["type"], params.get("state") or "present"
    if not path.startswith("/") or os.path.normpath(path) != path or path.startswith("//"):
        raise PlanError(f"path {path!r} must be absolute and normalised (no '.', '..', '//' or trailing '/')")
    if kind == "zram":
        try:
            _zram.zram_name(path)
        except ValueError as exc:
            raise PlanError(str(exc)) from None
    elif path.startswith("/dev/zram"):
        raise PlanError(f"{path} is a zram device: give type=zram")
    if params.get("algorithm") is not None and kind != "zram":
        raise PlanError("algorithm applies to type=zram only")
    if params.get("size") is not None and kind == "partition":
        raise PlanError("size applies to type=zram and type=file; a partition's size is the partition's")
    size = None
    if params.get("size") is not None:
        try:
            size = parse_size(params["size"])
        except ValueError as exc:
            raise PlanError(str(exc)) from None
    priority, tier = params.get("priority"), params.get("tier")
    if state == "absent":
        return DeviceSpec(path, kind, state, persistent=params.get("persistent", True))
    if tier is not None:
        if tiers is None:
            raise PlanError(f"tier {tier!r} cannot be resolved: this kernel has no swap tiers ({TIERS_FILE}) and no "
                            "tiers were given; give priority, or tiers (the tier table, e.g. policy_swap_tiers)")
        resolved = tier_priority(tier, tiers)
    elif priority is None:
        raise PlanError("state=present needs priority or tier")
    else:
        resolved = int(priority)
        if not PRIORITY_MIN <= resolved <= PRIO_MAX:
            raise PlanError(f"priority {priority} is outside {PRIORITY_MIN}..{PRIO_MAX} (swapon -p); a device without "
                            "a priority gets an automatic one, -2 and lower, which is in the lowest tier")
    if kind == "zram" and size is None:
        raise PlanError("type=zram needs size (e.g. 512M or 2G)")
    return DeviceSpec(path, kind, state, resolved, tier, size, params.get("algorithm"), params.get("persistent", True))


# --- observing -----------------------------------------------------------------------------------------------------


def fstab_matcher(host: SwapHost, device: str) -> Callable[[str], bool]:
    """Whether an fstab spec names ``device`` (a canonical host path)."""

    def matches(spec: str) -> bool:
        path = host.spec_path(spec)
        if path is None:
            return False
        if path == device:
            return True
        return host.io.exists(path) and host.canonical(path) == device

    return matches


def observe(host: SwapHost, spec: DeviceSpec) -> tuple[Observed, str]:
    """The device as it is now, and its canonical path (as /proc/swaps shows it)."""
    seen = Observed()
    device = spec.path
    if spec.type == "zram":
        name = _zram.zram_name(spec.path)[0]
        seen.module_loaded = _zram.module_loaded(host.io)
        state = _zram.read_zram(host.io, name)
        if state is not None:
            seen.exists = True
            seen.size = state.disksize or None
            seen.algorithm, seen.algorithms, seen.zram_used = state.algorithm, state.algorithms, state.mem_used
            seen.zram_stored = state.stored
            if state.disksize:
                seen.signature = host.read_signature(spec.path, nofollow=False)
        else:
            seen.algorithms = _zram.kernel_algorithms(host.io)  # the device's own list, once it exists
    elif spec.type == "file":
        try:
            with parent_fd(host.io.root, spec.path) as (dfd, name):
                info = os.lstat(name, dir_fd=dfd)
        except FileNotFoundError:
            info = None  # the file, or a directory on its way (created with the file)
        except OSError as exc:
            raise PlanError(write_refusal(spec.path, exc)) from exc
        if info is not None:
            if stat.S_ISLNK(info.st_mode):
                raise PlanError(f"{spec.path} is a symbolic link, which is never followed: give the file's own path")
            if not stat.S_ISREG(info.st_mode):
                raise PlanError(f"{spec.path} is not a regular file: use type=partition for a block device")
            seen.exists, seen.size, seen.mode = True, info.st_size, stat.S_IMODE(info.st_mode)
            seen.owner = (info.st_uid, info.st_gid)
            seen.signature = info.st_size > 0 and host.read_signature(spec.path, nofollow=True)
    else:
        if host.io.exists(spec.path):
            if not host.is_block_device(spec.path):
                raise PlanError(f"{spec.path} is not a block device: use type=file for a swap file")
            device = host.canonical(spec.path)
            seen.exists = True
            seen.signature = host.read_signature(spec.path, nofollow=False)
    seen.active = host.swaps().get(device)
    if spec.persistent:
        text = host.read_file(_fstab.FSTAB)
        seen.fstab_text = text or ""
        matches = fstab_matcher(host, device)
        seen.fstab_lines = tuple(s.text for s in _fstab.swap_lines(seen.fstab_text) if matches(s.spec))
        if spec.type == "zram":
            name = _zram.zram_name(spec.path)[0]
            for path in (_zram.UDEV_RULE.format(name=name), _zram.MODULES_LOAD, _zram.MODPROBE_CONF):
                seen.files[path] = host.read_file(path)
    return seen, device


def view(spec: DeviceSpec, seen: Observed, tiers: Sequence[TierSpec] | None) -> dict[str, Any]:
    """What diff mode shows of the device."""
    out: dict[str, Any] = {
        "path": spec.path,
        "type": spec.type,
        "exists": seen.exists,
        "active": seen.active is not None,
        "priority": seen.active.priority if seen.active else None,
        "tier": tier_of(seen.active.priority, tiers) if seen.active and tiers else None,
        "size": format_size(seen.size) if seen.size else None,
    }
    if spec.type == "zram":
        out["algorithm"] = seen.algorithm if seen.size else None  # an unset device has no algorithm in use
    if spec.type == "file":
        out["mode"] = f"{seen.mode:04o}" if seen.mode is not None else None
    if spec.persistent:
        out["fstab"] = list(seen.fstab_lines)
        out.update(seen.files)
    return out


# --- planning ------------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    ops: list[Operation]
    before: dict[str, Any]
    after: dict[str, Any]
    warnings: list[str]


def _given(value: int | None, what: str) -> int:
    """A value device_spec guarantees for state=present."""
    if value is None:
        raise PlanError(f"state=present needs {what}")
    return value


def _swapoff_fits(host: SwapHost, device: str, seen: Observed) -> None:
    """Refuse a swapoff whose pages would not fit: MemAvailable plus the free space of the other swap devices
    (plus, for zram, the memory its compressed pages free as they come back) must hold the device's used pages."""
    if seen.active is None or seen.active.used_kb == 0:
        return
    others = sum(a.size_kb - a.used_kb for path, a in host.swaps().items() if path != device)
    room = host.meminfo_kb("MemAvailable") + others + seen.zram_used // 1024
    if seen.active.used_kb > room:
        raise PlanError(
            f"swapoff {device} would have to take back {seen.active.used_kb // 1024} MiB of swapped-out pages, and "
            f"only {room // 1024} MiB are available (MemAvailable and the free space of the other swap devices); "
            "nothing was changed. Free memory or add swap elsewhere first.")


def plan(host: SwapHost, spec: DeviceSpec, tiers: Sequence[TierSpec] | None) -> Plan:
    seen, device = observe(host, spec)
    before = view(spec, seen, tiers)
    ops: list[Operation] = []
    warnings: list[str] = []
    after = dict(before)
    if spec.state == "absent":
        _plan_absent(host, spec, seen, device, ops)
        after.update(active=False, priority=None, tier=None)
        if spec.type == "zram" and seen.exists and (seen.active or seen.signature):
            after.update(size=None, algorithm=None)
    else:
        _plan_present(host, spec, seen, device, ops, warnings)
        after.update(exists=True, active=True, priority=spec.priority,
                     tier=tier_of(spec.priority, tiers) if tiers and spec.priority is not None else None)
        if spec.size is not None and (spec.type == "zram" or not seen.exists):
            after["size"] = format_size(spec.size)
        if spec.type == "zram":
            after["algorithm"] = spec.algorithm or seen.algorithm
        if spec.type == "file":
            after["mode"] = "0600"
    if spec.persistent:
        after.update(_plan_persistence(host, spec, seen, device, ops))
    return Plan(ops, before, after, warnings)


def _plan_absent(host: SwapHost, spec: DeviceSpec, seen: Observed, device: str, ops: list[Operation]) -> None:
    if seen.active is not None:
        _swapoff_fits(host, device, seen)
        ops.append(Operation("swapoff", seen.active.priority, None,
                             lambda: host.command(["swapoff", device], f"swapoff {device}")))
    if spec.type == "zram" and seen.exists and seen.size and (seen.active is not None or seen.signature):
        name = _zram.zram_name(spec.path)[0]
        ops.append(Operation("reset_zram", format_size(seen.size), None,
                             lambda: _sysfs(lambda: _zram.reset(host.io, name), f"resetting {name}")))


def _plan_present(host: SwapHost, spec: DeviceSpec, seen: Observed, device: str, ops: list[Operation],
                  warnings: list[str]) -> None:
    prio = _given(spec.priority, "priority or tier")
    swapon = Operation("swapon", None, prio, functools.partial(
        host.command, ["swapon", "-p", str(prio), device], f"swapon {device} at priority {prio}"))
    mkswap = Operation("mkswap", None, "swap area", lambda: host.command(["mkswap", device], f"mkswap {device}"))
    if spec.type == "zram":
        name, index = _zram.zram_name(spec.path)
        size = _given(spec.size, "size")
        if seen.algorithms and spec.algorithm is not None and spec.algorithm not in seen.algorithms:
            raise PlanError(f"zram compression algorithm {spec.algorithm!r} is not available in this kernel "
                            f"(it has: {', '.join(seen.algorithms)})")
        if not seen.module_loaded:
            ops.append(Operation("load_module", None, "zram",
                                 lambda: host.command(["modprobe", "zram"], "loading the zram kernel module (modprobe zram)")))
        if not seen.exists:
            add = functools.partial(_zram.add_devices, host.io, index)
            ops.append(Operation("add_zram", None, name, functools.partial(_sysfs, add, f"adding {name}")))
        configure = Operation("configure_zram", None, {"size": format_size(size), "algorithm": spec.algorithm},
                              lambda: _sysfs(lambda: _zram.configure(host.io, name, size, spec.algorithm),
                                             f"setting {name}'s size and algorithm"))
        rounded = -(-size // PAGE_SIZE) * PAGE_SIZE  # what the kernel makes of size
        differs = seen.size != rounded or (spec.algorithm is not None and spec.algorithm != seen.algorithm)
        if seen.exists and seen.size:
            if seen.active is None and not seen.signature:
                if seen.zram_stored != 0:
                    raise PlanError(f"{device} is set up ({format_size(seen.size)}) and holds no swap area: something "
                                    "else (a file system?) uses it; nothing was changed. Reset it yourself if it is "
                                    "free.")
                if not differs:  # set up and never written (a run stopped before mkswap): nobody's data
                    ops.extend([mkswap, swapon])
                    return
            if differs:
                if seen.active is not None:
                    _swapoff_fits(host, device, seen)
                    ops.append(Operation("swapoff", seen.active.priority, None,
                                         lambda: host.command(["swapoff", device], f"swapoff {device}")))
                ops.append(Operation("reset_zram", {"size": format_size(seen.size), "algorithm": seen.algorithm}, None,
                                     lambda: _sysfs(lambda: _zram.reset(host.io, name), f"resetting {name}")))
                ops.extend([configure, mkswap, swapon])
                return
        else:
            ops.extend([configure, mkswap, swapon])
            return
    elif spec.type == "file":
        if not seen.exists:
            if spec.size is None:
                raise PlanError(f"{spec.path} does not exist: give size to create it")
            size = spec.size
            ops.append(Operation("create_file", None, format_size(size),
                                 lambda: _create_swap_file(host, spec.path, size)))
            ops.append(swapon)
            return
        if not seen.signature:
            raise PlanError(f"{spec.path} exists and holds no swap area; the module formats only files it creates. "
                            "Run mkswap on it yourself, or remove it and give size.")
        if spec.size is not None and seen.size != spec.size:
            warnings.append(f"{spec.path} is {format_size(seen.size or 0)}, not {format_size(spec.size)}: an "
                            "existing swap file is not resized (swap it off, remove it and run again to resize)")
        # whoever owns or may read a swap file reads every process's pages swapped to it (swapon only warns)
        if seen.owner is not None and seen.owner != (0, 0):
            owner = "%d:%d" % seen.owner
            ops.append(Operation("chown", owner, "0:0", lambda: _chown_root(host, spec.path)))
        if seen.mode is not None and seen.mode & 0o077:
            mode = seen.mode
            ops.append(Operation("chmod", f"{mode:04o}", "0600", lambda: _chmod_600(host, spec.path)))
    else:
        if not seen.exists:
            raise PlanError(f"{spec.path} does not exist")
        if not seen.signature:
            raise PlanError(f"{spec.path} holds no swap area; the module does not format partitions. "
                            "Run mkswap on it yourself if it is meant for swap.")
    if seen.active is None:
        ops.append(swapon)
    elif seen.active.priority != prio:
        _swapoff_fits(host, device, seen)
        old = seen.active.priority
        ops.append(Operation("swapoff", old, None, lambda: host.command(
            ["swapoff", device], f"swapoff {device} (to swap it on again at priority {prio}; it stays at {old})")))
        ops.append(swapon)


def _plan_persistence(host: SwapHost, spec: DeviceSpec, seen: Observed, device: str,
                      ops: list[Operation]) -> dict[str, Any]:
    after: dict[str, Any] = {}
    matches = fstab_matcher(host, device)
    text = seen.fstab_text
    if spec.state == "present":
        # a zram device exists only once its module is loaded and its rule has run: a boot where it does not come
        # is not held up waiting for it (nofail)
        options = ("sw", "nofail") if spec.type == "zram" else ("sw",)
        new_text = _fstab.set_entry(text, spec.path, _given(spec.priority, "priority or tier"), matches, options)
    else:
        new_text = _fstab.remove_entry(text, matches)
    new_lines = tuple(s.text for s in _fstab.swap_lines(new_text) if matches(s.spec))
    after["fstab"] = list(new_lines)
    if new_text != text:
        data = new_text.encode()
        ops.append(Operation("write_fstab", list(seen.fstab_lines), list(new_lines),
                             lambda: _write(host, _fstab.FSTAB, data)))
    if spec.type == "zram":
        name, index = _zram.zram_name(spec.path)
        rule_path = _zram.UDEV_RULE.format(name=name)
        wanted: dict[str, str | None] = {}
        if spec.state == "present":
            wanted[rule_path] = _zram.udev_rule(name, _given(spec.size, "size"), spec.algorithm)
            wanted[_zram.MODULES_LOAD] = _zram.modules_load()
            have = seen.files.get(_zram.MODPROBE_CONF)
            if index > 0 or have is not None:
                count = max(index + 1, _zram.configured_devices(have))
                wanted[_zram.MODPROBE_CONF] = _zram.modprobe_conf(count)
        else:
            wanted[rule_path] = None
        for path, content in wanted.items():
            current = seen.files.get(path)
            after[path] = content
            if content == current:
                continue
            if content is None:
                if current is not None and _zram.MARKER not in current:
                    raise PlanError(f"{path} was not written by this module: left in place; remove it yourself")
                ops.append(Operation("remove_file", current, None, functools.partial(_remove, host, path), target=path))
            else:
                if current is not None and _zram.MARKER not in current:
                    raise PlanError(f"{path} exists and was not written by this module: nothing was changed")
                payload = content.encode()
                ops.append(Operation("write_file", current, content, functools.partial(_write, host, path, payload),
                                     target=path))
    return after


# --- operations ----------------------------------------------------------------------------------------------------


def _sysfs(call: Callable[[], None], what: str) -> None:
    try:
        call()
    except _zram.AlgorithmError as exc:
        raise BackendError(f"{what} failed: {exc}") from exc
    except OSError as exc:
        raise BackendError(f"{what} failed: {exc.strerror or exc}", exc.errno) from exc


def _write(host: SwapHost, path: str, data: bytes) -> None:
    try:
        replace_nofollow(host.io.root, path, data, 0o644, label=host.io.label)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise BackendError(write_refusal(path, exc), exc.errno) from exc
        raise BackendError(f"cannot write {path}: {exc.strerror or exc}", exc.errno) from exc


def _remove(host: SwapHost, path: str) -> None:
    try:
        host.io.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise BackendError(f"cannot remove {path}: {exc.strerror or exc}", exc.errno) from exc


def _on_file(host: SwapHost, path: str, change: Callable[[int], None], what: str) -> None:
    """``change(fd)`` on the file at ``path``, opened without following a link; ``what`` names it in the error."""
    try:
        fd = open_nofollow(host.io.root, path, os.O_RDONLY)
        try:
            change(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise BackendError(f"cannot {what} {path}: {exc.strerror or exc}", exc.errno) from exc


def _chmod_600(host: SwapHost, path: str) -> None:
    _on_file(host, path, lambda fd: os.fchmod(fd, 0o600), "chmod 0600")


def _chown_root(host: SwapHost, path: str) -> None:
    _on_file(host, path, lambda fd: os.fchown(fd, 0, 0), "chown root:root")


def _create_swap_file(host: SwapHost, path: str, size: int) -> None:
    """Create ``path`` (mode 0600, never through a link), allocate ``size`` bytes without holes and format it,
    under a temporary name (NEW_FILE) linked to ``path`` only once it holds a swap area: ``path`` never holds a
    file of zeros, and a temporary file that a killed run left is removed first. The temporary file is removed
    again when a later part fails."""
    directory, name = os.path.split(path)
    new = os.path.join(directory, NEW_FILE.format(name=name))
    try:
        makedirs_nofollow(host.io.root, directory)
        _remove(host, new)
        fd = open_nofollow(host.io.root, new, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise BackendError(write_refusal(path, exc), exc.errno) from exc
        raise BackendError(f"cannot create {new}: {exc.strerror or exc}", exc.errno) from exc
    try:
        try:
            os.fchmod(fd, 0o600)
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                    raise
                _write_zeros(fd, size)  # a file system without fallocate: write the blocks
            os.fsync(fd)
        finally:
            os.close(fd)
        host.command(["mkswap", new], f"mkswap {new}")
        with parent_fd(host.io.root, path) as (dfd, base):
            # link(2), not rename(2): it never replaces what appeared at path meanwhile
            os.link(os.path.basename(new), base, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=False)
            os.fsync(dfd)
    except BaseException as exc:
        try:
            host.io.unlink(new)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise BackendError(f"cannot make {path} of {format_size(size)}: {exc.strerror or exc}",
                               exc.errno) from exc
        raise
    _remove(host, new)


def _write_zeros(fd: int, size: int) -> None:
    block = bytes(1 << 20)
    left = size
    while left > 0:
        left -= os.write(fd, block[:min(left, len(block))])


# --- running -------------------------------------------------------------------------------------------------------


@dataclass
class Result:
    changed: bool
    changes: list[dict[str, Any]]
    diff: dict[str, Any]
    device: dict[str, Any]
    warnings: list[str]
    applied: list[dict[str, Any]] = field(default_factory=list)
    failed_operation: dict[str, Any] | None = None
    error: str | None = None


def resolve_tiers(host: SwapHost, given: list[dict[str, Any]] | None) -> tuple[TierSpec, ...] | None:
    """The tier table names are resolved in: the given one (the table a run is about to install), else the
    kernel's; None when there is neither."""
    if given is not None:
        return tuple(sorted((TierSpec(str(t["name"]), int(t["start_priority"])) for t in given),
                            key=lambda t: -t.start_priority))
    return host.tiers()


def run(host: SwapHost, params: dict[str, Any], check_mode: bool) -> Result:
    """Plan, and outside check mode apply, one device. PolicyGroupsError: refused before any change."""
    tiers = resolve_tiers(host, params.get("tiers"))
    spec = device_spec(params, tiers)
    planned = plan(host, spec, tiers)
    changes = [op.to_dict(spec.path) for op in planned.ops]
    result = Result(bool(planned.ops), changes, {"before": planned.before, "after": planned.after},
                    planned.after if planned.ops else planned.before, planned.warnings)
    if check_mode:
        return result
    for op in planned.ops:
        try:
            op.run()
        except PolicyGroupsError as exc:
            result.failed_operation = op.to_dict(spec.path)
            result.error = f"{exc} (operations done before: {', '.join(a['op'] for a in result.applied) or 'none'})"
            result.changed = bool(result.applied)
            return result
        result.applied.append(op.to_dict(spec.path))
    return result
