# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ``policy_groups_assess`` reads of a host, read-only (stdlib only).

The cgroup v2 tree with its memory files, systemd units' memory properties (one ``systemctl show`` for every
loaded unit), swap devices and the tier table, and the global THP, KSM and zswap settings. Nothing is written.
Everything under /sys/fs/cgroup and /proc is reached without following a symbolic link: each directory is opened
relative to its parent with ``O_NOFOLLOW``, so a link planted in the tree is reported, never read through. A file
that cannot be read is recorded in ``errors`` with its path and the reason; the rest is still read.
"""

from __future__ import annotations

import errno
import os
from typing import Any, Callable, Sequence

from .._engine._errors import BackendError
from .._engine._io import HostIO, open_nofollow, read_nofollow
from .._engine._procfs import swap_lines
from .._engine._swaptiers import parse_table
from .._engine._systemctl import parse_show

CGROUP_ROOT = "/sys/fs/cgroup"
# The memory files that matter, with the value each has when nothing was set.
MEMORY_FILES: dict[str, str] = {
    "memory.swap.max": "max",
    "memory.zswap.writeback": "1",
    "memory.low": "0",
    "memory.high": "max",
    "memory.max": "max",
}
# More cgroups than this are not listed one by one (the report would be the size of the tree).
MAX_CGROUPS = 20000
# Unit types whose cgroup holds memory settings; patterns for one ``systemctl show`` over every loaded unit.
UNIT_PATTERNS = ("*.service", "*.scope", "*.slice", "*.socket", "*.mount", "*.swap")
UNIT_PROPERTIES = (
    "Id", "LoadState", "ActiveState", "Transient", "ControlGroup", "Slice", "MainPID", "NeedDaemonReload",
    "FragmentPath", "DropInPaths", "OOMScoreAdjust", "MemorySwapMax", "MemoryZSwapWriteback", "MemoryKSM",
    "MemoryTHP", "MemoryLow", "MemoryHigh", "MemoryMax",
)
# Property values of a unit that sets nothing (``systemctl show`` prints these for unset properties).
PROPERTY_DEFAULTS: dict[str, tuple[str, ...]] = {
    "OOMScoreAdjust": ("0", ""),
    "MemorySwapMax": ("infinity", ""),
    "MemoryZSwapWriteback": ("yes", ""),
    "MemoryKSM": ("no", ""),
    "MemoryTHP": ("inherit", ""),
    "MemoryLow": ("0", ""),
    "MemoryHigh": ("infinity", ""),
    "MemoryMax": ("infinity", ""),
}
GLOBAL_FILES: dict[str, str] = {
    "thp_enabled": "/sys/kernel/mm/transparent_hugepage/enabled",
    "thp_defrag": "/sys/kernel/mm/transparent_hugepage/defrag",
    "ksm_run": "/sys/kernel/mm/ksm/run",
    "zswap_enabled": "/sys/module/zswap/parameters/enabled",
    "zswap_compressor": "/sys/module/zswap/parameters/compressor",
    "zswap_max_pool_percent": "/sys/module/zswap/parameters/max_pool_percent",
    "swappiness": "/proc/sys/vm/swappiness",
}
TIERS_FILE = "/sys/kernel/mm/swap/tiers"
PROC_SWAPS = "/proc/swaps"

Runner = Callable[[Sequence[str]], "tuple[int, str, str]"]
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def why(exc: OSError) -> str:
    """An OSError as a reader's reason: a link met on the way is named as such."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return "a symbolic link is on its path or at it, which is never followed"
    return exc.strerror or str(exc)


def _read_at(dir_fd: int, name: str) -> str:
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)
    try:
        chunks: list[bytes] = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace").strip()


class Reader:
    """Read-only views of one host; ``errors`` collects ``{path, error}`` of what could not be read."""

    def __init__(self, io: HostIO, runner: Runner | None) -> None:
        self.io = io
        self.runner = runner
        self.errors: list[dict[str, str]] = []
        self.seen: set[str] = set()

    def _error(self, path: str, reason: str) -> None:
        self.errors.append({"path": path, "error": reason})

    def read(self, path: str) -> str | None:
        """A file's stripped text, None when absent; an unreadable file is recorded in ``errors``."""
        try:
            return read_nofollow(self.io.root, path).strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._error(path, why(exc))
            return None

    # -- cgroup v2 ------------------------------------------------------------------------------------------------
    def cgroups(self) -> tuple[bool, str | None, dict[str, dict[str, str]], bool]:
        """``(cgroup v2 mounted, why not, {path: {file: value}}, truncated)``: every cgroup below the root, each
        with the memory files whose value is not the default (the root cgroup has no memory files). A directory
        on another file system (the policy hierarchy mounted inside the tree) is not part of it and is skipped."""
        try:
            root_fd = open_nofollow(self.io.root, CGROUP_ROOT, _DIR)
        except FileNotFoundError:
            return False, f"{CGROUP_ROOT} does not exist", {}, False
        except OSError as exc:
            return False, f"cannot open {CGROUP_ROOT}: {why(exc)}", {}, False
        try:
            try:
                os.stat("cgroup.controllers", dir_fd=root_fd, follow_symlinks=False)
            except OSError:
                return False, f"no cgroup v2 hierarchy at {CGROUP_ROOT} (no cgroup.controllers)", {}, False
            device = os.fstat(root_fd).st_dev
            found: dict[str, dict[str, str]] = {}
            truncated = self._walk(root_fd, "", device, found)
        finally:
            os.close(root_fd)
        return True, None, found, truncated

    def _walk(self, dir_fd: int, path: str, device: int, found: dict[str, dict[str, str]]) -> bool:
        """Depth first below ``dir_fd`` (the cgroup ``path``); True when MAX_CGROUPS stopped the walk."""
        with os.scandir(dir_fd) as entries:
            names = sorted(e.name for e in entries if not e.is_symlink() and e.is_dir(follow_symlinks=False))
        for name in names:
            child_path = f"{path}/{name}"
            try:
                fd = os.open(name, _DIR, dir_fd=dir_fd)
            except OSError as exc:
                self._error(CGROUP_ROOT + child_path, why(exc))
                continue
            try:
                if os.fstat(fd).st_dev != device:
                    continue
                if len(found) >= MAX_CGROUPS:
                    return True
                found[child_path] = self._memory_files(fd, child_path)
                if self._walk(fd, child_path, device, found):
                    return True
            finally:
                os.close(fd)
        return False

    def _memory_files(self, fd: int, path: str) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, default in MEMORY_FILES.items():
            try:
                value = _read_at(fd, name)
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._error(f"{CGROUP_ROOT}{path}/{name}", why(exc))
                continue
            self.seen.add(name)
            if value != default:
                values[name] = value
        return values

    # -- systemd units ------------------------------------------------------------------------------------------
    def units(self) -> tuple[dict[str, dict[str, str]] | None, str | None]:
        """Every loaded unit of a type with a cgroup, active or not, as ``{unit: {property: value}}`` from one ``systemctl show``; None and
        the reason when systemd cannot be asked."""
        if self.runner is None:
            return None, "systemd is not asked: host_root re-roots files only and no command runs under it"
        if not self.io.isdir("/run/systemd/system"):
            return None, "systemd is not the running init system (no /run/systemd/system)"
        # --all: patterns match every loaded unit, inactive ones too (a timer's batch service); without it, only
        # the units list-units shows by default (measured on systemd 257: 60 of 126 loaded units).
        argv = ["show", "--all", *(f"--property={p}" for p in UNIT_PROPERTIES), "--", *UNIT_PATTERNS]
        rc, out, err = self.runner(argv)
        if rc != 0:
            detail = (err or out).strip() or f"exit status {rc}"
            return None, f"systemctl show failed: {detail}"
        units: dict[str, dict[str, str]] = {}
        for block in parse_show(out):
            unit = block.pop("Id", "")
            if unit:
                units[unit] = block
        return units, None

    def oom_score_adj(self, pid: int) -> str | None:
        return self.read(f"/proc/{pid}/oom_score_adj") if pid > 0 else None

    # -- swap and globals ---------------------------------------------------------------------------------------
    def swaps(self) -> list[dict[str, Any]]:
        return [d._asdict() for d in swap_lines(self.read(PROC_SWAPS) or "")]

    def tiers(self) -> list[dict[str, Any]] | None:
        """The kernel's swap tier table, None when the kernel has no swap tiers."""
        text = self.read(TIERS_FILE)
        if text is None:
            return None
        try:
            return [t.to_dict() for t in parse_table(text)]
        except BackendError as exc:
            self._error(TIERS_FILE, str(exc))
            return None

    def globals(self) -> dict[str, str | None]:
        return {key: self.read(path) for key, path in GLOBAL_FILES.items()}


def memory_settings(props: dict[str, str]) -> dict[str, str]:
    """The memory properties a unit sets (those that differ from what an unset property shows)."""
    return {key: props[key] for key, defaults in PROPERTY_DEFAULTS.items() if key in props and props[key] not in defaults}


def assess_host(io: HostIO, runner: Runner | None) -> dict[str, Any]:
    """Everything ``policy_groups_assess`` reports under ``host`` (policy groups are added by the caller)."""
    reader = Reader(io, runner)
    mounted, reason, cgroups, truncated = reader.cgroups()
    units, units_reason = reader.units()
    relevant: dict[str, dict[str, Any]] = {}
    for unit, props in sorted((units or {}).items()):
        if props.get("LoadState") != "loaded":
            continue
        cgroup = props.get("ControlGroup", "")
        settings = memory_settings(props)
        if not settings and not cgroups.get(cgroup) and props.get("NeedDaemonReload") != "yes":
            continue
        entry: dict[str, Any] = {
            "settings": settings,
            "active_state": props.get("ActiveState", ""),
            "transient": props.get("Transient") == "yes",
            "control_group": cgroup or None,
            "slice": props.get("Slice") or None,
            "need_daemon_reload": props.get("NeedDaemonReload") == "yes",
            "fragment_path": props.get("FragmentPath") or None,
            "dropin_paths": (props.get("DropInPaths") or "").split(),
            "main_pid": int(props["MainPID"]) if props.get("MainPID", "").isdigit() else 0,
        }
        if "OOMScoreAdjust" in settings and entry["main_pid"] > 0:
            entry["running_oom_score_adj"] = reader.oom_score_adj(entry["main_pid"])
        relevant[unit] = entry
    return {
        "cgroup_v2": mounted,
        "cgroup_v2_reason": reason,
        "cgroups": cgroups,
        "cgroups_truncated": truncated,
        "memory_files_seen": sorted(reader.seen),
        "systemd": units is not None,
        "systemd_reason": units_reason,
        # --all also lists units that are only referenced (LoadState=not-found): not counted.
        "units_loaded": sum(1 for props in (units or {}).values() if props.get("LoadState") == "loaded"),
        "units": relevant,
        "swap_devices": reader.swaps(),
        "swap_tiers": reader.tiers(),
        "globals": reader.globals(),
        "errors": reader.errors,
    }
