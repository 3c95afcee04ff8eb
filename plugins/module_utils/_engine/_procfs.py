# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host facts from /proc and /sys that do not depend on the backend (stdlib only)."""

from __future__ import annotations

from typing import NamedTuple, Sequence

from ._io import HostIO
from ._model import TierSpec, parse_nodelist
from ._state import SwapDevice
from ._swaptiers import tier_of

PROC_SWAPS = "/proc/swaps"
PROC_CGROUPS = "/proc/cgroups"
OSRELEASE = "/proc/sys/kernel/osrelease"
NODE_ONLINE = "/sys/devices/system/node/online"


def kernel_release(io: HostIO) -> str | None:
    try:
        return io.read(OSRELEASE).strip() or None
    except OSError:
        return None


def cgroup_controllers(io: HostIO) -> tuple[str, ...] | None:
    """Controller names in /proc/cgroups (None when the file is unreadable)."""
    try:
        text = io.read(PROC_CGROUPS)
    except OSError:
        return None
    names = []
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        names.append(line.split()[0])
    return tuple(names)


class SwapLine(NamedTuple):
    """One device of /proc/swaps."""

    path: str
    type: str
    size_kb: int
    used_kb: int
    priority: int


def swap_lines(text: str) -> list[SwapLine]:
    """Parse /proc/swaps (``Filename Type Size Used Priority``, a space in a path written as ``\\040``);
    lines that are not of that form are left out."""
    lines = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 5:
            continue
        try:
            size, used, prio = int(fields[-3]), int(fields[-2]), int(fields[-1])
        except ValueError:
            continue
        lines.append(SwapLine(" ".join(fields[:-4]).replace("\\040", " "), fields[-4], size, used, prio))
    return lines


def swap_devices(io: HostIO, tiers: Sequence[TierSpec] | None) -> tuple[SwapDevice, ...]:
    """The active swap devices with their tiers; an unreadable /proc/swaps means no devices."""
    try:
        text = io.read(PROC_SWAPS)
    except OSError:
        return ()
    return tuple(SwapDevice(path=d.path, type=d.type, size_kb=d.size_kb, used_kb=d.used_kb, priority=d.priority,
                            tier=tier_of(d.priority, tiers) if tiers else None) for d in swap_lines(text))


def online_nodes(io: HostIO) -> tuple[int, ...] | None:
    try:
        return parse_nodelist(io.read(NODE_ONLINE))
    except (OSError, ValueError):
        return None


def pid_exists(io: HostIO, pid: int) -> bool:
    return io.isdir(f"/proc/{pid}")
