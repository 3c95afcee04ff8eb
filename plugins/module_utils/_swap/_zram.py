# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""zram devices through sysfs: read one, add it, reset and configure it, and the boot-time files that set it up
again (stdlib only).

At boot a zram device is set up by what a mainline Debian host has without extra packages: the kernel module is
loaded by ``systemd-modules-load`` (``/etc/modules-load.d``), more than one device is asked of it with
``num_devices`` (``/etc/modprobe.d``), and a udev rule sets the device's compression algorithm and size when it
appears and formats it; its ``/etc/fstab`` line then swaps it on with its priority, like any other swap device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._engine._io import HostIO

ZRAM_CONTROL = "/sys/class/zram-control"
# zram devices are virtual block devices; /sys/block/zramN is a link to this directory, and the files written
# (disksize, comp_algorithm, reset) are reached without following links (_io), so through the directory itself
SYSFS_BLOCK = "/sys/devices/virtual/block"
MODULES_LOAD = "/etc/modules-load.d/policygroups-zram.conf"
MODPROBE_CONF = "/etc/modprobe.d/policygroups-zram.conf"
UDEV_RULE = "/etc/udev/rules.d/80-policygroups-{name}.rules"
MARKER = "# Managed by policygroups.core (swap_device)."
MKSWAP = "/sbin/mkswap"

_NAME_RE = re.compile(r"/dev/(zram([0-9]{1,3}))")


@dataclass(frozen=True)
class ZramState:
    """One zram device as sysfs shows it; ``disksize`` 0 means not initialised (no size, no data)."""

    name: str
    disksize: int
    algorithm: str | None
    algorithms: tuple[str, ...]
    mem_used: int
    stored: int = 0  # mm_stat's orig_data_size: bytes ever stored and not freed (0: nothing written since set up)


def zram_name(path: str) -> tuple[str, int]:
    """``('zram3', 3)`` for ``/dev/zram3``; ValueError for any other path."""
    match = _NAME_RE.fullmatch(path)
    if match is None:
        raise ValueError(f"{path!r} is not a zram device path (/dev/zramN)")
    return match.group(1), int(match.group(2))


def parse_algorithms(text: str) -> tuple[str | None, tuple[str, ...]]:
    """``comp_algorithm``'s ``lzo [lzo-rle] lz4 zstd``: the current one (bracketed) and every one."""
    current, names = None, []
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            word = word[1:-1]
            current = word
        names.append(word)
    return current, tuple(names)


def module_loaded(io: HostIO) -> bool:
    return io.isdir(ZRAM_CONTROL)


def read_zram(io: HostIO, name: str) -> ZramState | None:
    """The device's state, or None when there is no such device."""
    base = f"{SYSFS_BLOCK}/{name}"
    if not io.isdir(base):
        return None
    disksize = int(io.read(f"{base}/disksize").strip() or 0)
    try:
        current, names = parse_algorithms(io.read(f"{base}/comp_algorithm"))
    except OSError:
        current, names = None, ()
    try:
        fields = io.read(f"{base}/mm_stat").split()
        mem_used = int(fields[2]) if len(fields) > 2 else 0
        stored = int(fields[0]) if fields else 0
    except (OSError, ValueError):
        mem_used, stored = 0, -1  # unknown: counts as holding data
    return ZramState(name, disksize, current, names, mem_used, stored)


def kernel_algorithms(io: HostIO) -> tuple[str, ...]:
    """The algorithms this kernel's zram offers, read from any of its devices (empty when there is none)."""
    if not io.isdir(SYSFS_BLOCK):
        return ()
    for entry in io.subdirs(SYSFS_BLOCK):
        if re.fullmatch(r"zram[0-9]+", entry):
            try:
                return parse_algorithms(io.read(f"{SYSFS_BLOCK}/{entry}/comp_algorithm"))[1]
            except OSError:
                continue
    return ()


def add_devices(io: HostIO, index: int) -> None:
    """Read ``hot_add`` until ``zram<index>`` exists (each read adds the lowest free index)."""
    for _attempt in range(index + 1):
        if io.isdir(f"{SYSFS_BLOCK}/zram{index}"):
            return
        io.read(f"{ZRAM_CONTROL}/hot_add")
    if not io.isdir(f"{SYSFS_BLOCK}/zram{index}"):
        raise OSError(0, f"zram{index} did not appear after {index + 1} reads of {ZRAM_CONTROL}/hot_add")


def reset(io: HostIO, name: str) -> None:
    """Free the device's memory and size (it must not be in use)."""
    io.write(f"{SYSFS_BLOCK}/{name}/reset", "1")


class AlgorithmError(ValueError):
    """The kernel's zram lacks the compression algorithm asked for."""

    def __init__(self, algorithm: str, available: tuple[str, ...]) -> None:
        super().__init__(f"zram compression algorithm {algorithm!r} is not available in this kernel "
                         f"(it has: {', '.join(available)})")


def configure(io: HostIO, name: str, size: int, algorithm: str | None) -> None:
    """Set an uninitialised device's algorithm, then its size (the kernel takes them in that order only).
    An algorithm the device does not list raises AlgorithmError before anything is written (the kernel's
    answer would be a bare EINVAL)."""
    if algorithm is not None:
        available = parse_algorithms(io.read(f"{SYSFS_BLOCK}/{name}/comp_algorithm"))[1]
        if algorithm not in available:
            raise AlgorithmError(algorithm, available)
        io.write(f"{SYSFS_BLOCK}/{name}/comp_algorithm", algorithm)
    io.write(f"{SYSFS_BLOCK}/{name}/disksize", str(size))


def udev_rule(name: str, size: int, algorithm: str | None) -> str:
    """The rule that sets the device up at boot when the kernel adds it, then formats it as swap."""
    algo = f'ATTR{{comp_algorithm}}="{algorithm}", ' if algorithm else ""
    return (f"{MARKER}\n# {name} as swap: its /etc/fstab line swaps it on with its priority.\n"
            f'ACTION=="add", SUBSYSTEM=="block", KERNEL=="{name}", ATTR{{initstate}}=="0", {algo}'
            f'ATTR{{disksize}}="{size}", RUN+="{MKSWAP} /dev/{name}", TAG+="systemd"\n')


def modules_load() -> str:
    return f"{MARKER}\nzram\n"


def modprobe_conf(num_devices: int) -> str:
    return f"{MARKER}\noptions zram num_devices={num_devices}\n"


def configured_devices(text: str | None) -> int:
    """``num_devices`` of the modprobe file (1, the kernel's default, when absent or unreadable)."""
    match = re.search(r"num_devices=([0-9]+)", text or "")
    return int(match.group(1)) if match else 1
