"""A simulated host for swap devices: /proc/swaps, /proc/meminfo, zram in sysfs, block devices, and the commands
swapon, swapoff, mkswap and modprobe acting on them, as the kernel and util-linux do.

zram devices live in /sys/devices/virtual/block/zramN, and /sys/block/zramN is a link to that, as in sysfs.

Everything lives under a temporary ``root``; host paths (``/dev/zram0``, ``/etc/fstab``) are re-rooted, as
``HostIO`` does. Every command run is recorded in ``commands``.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO
from ansible_collections.policygroups.core.plugins.module_utils._swap._swaphost import SwapHost
from ansible_collections.policygroups.core.plugins.module_utils._engine._swaptiers import render_table
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import TierSpec

PAGE = os.sysconf("SC_PAGESIZE")
ALGORITHMS = ("lzo", "lzo-rle", "lz4", "zstd")
# Debian 13's 6.12 kernels build zram without the LZO backend and default to lz4
DEBIAN_13_ALGORITHMS = ("lz4", "lz4hc", "zstd", "deflate")
VIRTUAL = "/sys/devices/virtual/block"
HEADER = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"


@dataclass
class SwapSpec:
    """What the simulated host starts with."""

    zram_module: str = "loaded"           # loaded | loadable | missing
    zram_devices: int = 1                  # devices the module has when loaded
    mem_available_kb: int = 4 << 20
    fstab: str = "# /etc/fstab\nUUID=root-uuid / ext4 errors=remount-ro 0 1\n"
    block_devices: dict[str, int] = field(default_factory=lambda: {"/dev/vda5": 1 << 30})  # path -> bytes
    links: dict[str, str] = field(default_factory=lambda: {"/dev/disk/by-uuid/swap-uuid": "/dev/vda5"})
    tiers: tuple[tuple[str, int], ...] | None = None
    swapoff_fails: str | None = None       # stderr of a refused swapoff
    algorithms: tuple[str, ...] = ALGORITHMS


class FakeSwapIO(HostIO):
    """HostIO with the zram sysfs files behaving like the kernel's."""

    def __init__(self, root: str, fake: FakeSwap) -> None:
        super().__init__(root)
        self.fake = fake

    def read(self, path: str) -> str:
        if path == "/sys/class/zram-control/hot_add":
            index = 0
            while self.isdir(f"{VIRTUAL}/zram{index}"):
                index += 1
            self.fake.add_zram(index)
            return f"{index}\n"
        return super().read(path)

    def write(self, path: str, data: str) -> None:
        parts = path.split("/")
        if path.startswith(f"{VIRTUAL}/zram") and len(parts) == 7:
            name, attr = parts[5], parts[6]
            disksize = int(super().read(f"{VIRTUAL}/{name}/disksize"))
            if attr == "reset":
                if f"/dev/{name}" in self.fake.active():
                    raise OSError(errno.EBUSY, "Device or resource busy")
                super().write(f"{VIRTUAL}/{name}/disksize", "0")
                self.fake.set_algorithm(name, self.fake.spec.algorithms[0])
                Path(self.real(f"/dev/{name}")).write_bytes(b"")
                return
            if attr == "comp_algorithm":
                if disksize:
                    raise OSError(errno.EBUSY, "Device or resource busy")
                if data.strip() not in self.fake.spec.algorithms:
                    raise OSError(errno.EINVAL, "Invalid argument")
                self.fake.set_algorithm(name, data.strip())
                return
            if attr == "disksize":
                if disksize:
                    raise OSError(errno.EBUSY, "Device or resource busy")
                super().write(path, data)
                Path(self.real(f"/dev/{name}")).write_bytes(bytes(PAGE))
                return
        super().write(path, data)


class FakeSwap:
    def __init__(self, root: Path, spec: SwapSpec | None = None) -> None:
        self.root = root
        self.spec = spec or SwapSpec()
        self.commands: list[list[str]] = []
        self.io = FakeSwapIO(str(root), self)
        for directory in ("proc", "etc", "dev/disk/by-uuid", "sys/block", "sys/kernel/mm/swap", "run"):
            (root / directory).mkdir(parents=True, exist_ok=True)
        self.write_swaps({})
        (root / "proc" / "meminfo").write_text(
            f"MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    {self.spec.mem_available_kb} kB\n")
        (root / "etc" / "fstab").write_text(self.spec.fstab)
        for path, size in self.spec.block_devices.items():
            self.path(path).write_bytes(b"")
            os.truncate(self.path(path), size)
        for link, target in self.spec.links.items():  # relative, as udev makes them
            self.path(link).symlink_to(os.path.relpath(target, os.path.dirname(link)))
        if self.spec.tiers is not None:
            (root / "sys" / "kernel" / "mm" / "swap" / "tiers").write_text(
                render_table(TierSpec(n, p) for n, p in self.spec.tiers))
        if self.spec.zram_module == "loaded":
            self.load_zram()

    def path(self, host_path: str) -> Path:
        return self.root / host_path.lstrip("/")

    def host(self) -> FakeHost:
        return FakeHost(self)

    # --- state ---------------------------------------------------------------------------------------------------

    def active(self) -> dict[str, tuple[int, int, int]]:
        """path -> (size_kb, used_kb, priority)"""
        found = {}
        for line in self.path("/proc/swaps").read_text().splitlines()[1:]:
            fields = line.split()
            found[fields[0]] = (int(fields[2]), int(fields[3]), int(fields[4]))
        return found

    def write_swaps(self, active: dict[str, tuple[int, int, int]]) -> None:
        lines = [HEADER]
        for path, (size, used, prio) in active.items():
            kind = "file" if not path.startswith("/dev/") else "partition"
            lines.append(f"{path}\t\t\t\t{kind}\t\t{size}\t\t{used}\t\t{prio}\n")
        self.path("/proc/swaps").write_text("".join(lines))

    def swap_on(self, path: str, priority: int, used_kb: int = 0) -> None:
        """A device already active (as the host had it before the run)."""
        self.mkswap(path)
        active = self.active()
        active[path] = (max(self.size_of(path) // 1024 - PAGE // 1024, 0), used_kb, priority)
        self.write_swaps(active)

    def size_of(self, path: str) -> int:
        return os.stat(self.path(path)).st_size

    def signature(self, path: str) -> bool:
        with open(os.path.realpath(self.path(path)), "rb") as handle:
            handle.seek(PAGE - 10)
            return handle.read(10) == b"SWAPSPACE2"

    def mkswap(self, path: str) -> None:
        with open(os.path.realpath(self.path(path)), "r+b") as handle:
            handle.seek(PAGE - 10)
            handle.write(b"SWAPSPACE2")

    def load_zram(self) -> None:
        (self.root / "sys" / "class" / "zram-control").mkdir(parents=True, exist_ok=True)
        (self.root / "sys" / "class" / "zram-control" / "hot_add").write_text("")
        for index in range(self.spec.zram_devices):
            self.add_zram(index)

    def add_zram(self, index: int) -> None:
        base = self.path(f"{VIRTUAL}/zram{index}")
        base.mkdir(parents=True)
        self.path(f"/sys/block/zram{index}").symlink_to(f"../devices/virtual/block/zram{index}")
        (base / "disksize").write_text("0\n")
        (base / "mm_stat").write_text("0 0 0 0 0 0 0 0 0\n")
        for attr in ("reset",):
            (base / attr).write_text("")
        self.set_algorithm(f"zram{index}", "lzo-rle" if "lzo-rle" in self.spec.algorithms else self.spec.algorithms[0])
        self.path(f"/dev/zram{index}").write_bytes(b"")

    def set_algorithm(self, name: str, algorithm: str) -> None:
        words = [f"[{a}]" if a == algorithm else a for a in self.spec.algorithms]
        (self.path(f"{VIRTUAL}/{name}") / "comp_algorithm").write_text(" ".join(words) + "\n")

    def zram(self, name: str) -> tuple[int, str]:
        base = self.path(f"{VIRTUAL}/{name}")
        algorithm = next(w[1:-1] for w in (base / "comp_algorithm").read_text().split() if w.startswith("["))
        return int((base / "disksize").read_text()), algorithm

    def setup_zram(self, name: str, size: int, algorithm: str = "lzo-rle") -> None:
        self.set_algorithm(name, algorithm)
        (self.path(f"{VIRTUAL}/{name}") / "disksize").write_text(f"{size}\n")
        self.path(f"/dev/{name}").write_bytes(bytes(PAGE))

    # --- commands ------------------------------------------------------------------------------------------------

    def run(self, argv: Sequence[str]) -> tuple[int, str, str]:
        self.commands.append(list(argv))
        name, args = argv[0], list(argv[1:])
        if name == "modprobe":
            if self.spec.zram_module == "missing":
                return 1, "", "modprobe: FATAL: Module zram not found in directory /lib/modules/6.12.0-amd64\n"
            self.load_zram()
            return 0, "", ""
        if name == "mkswap":
            target = self.path(args[-1])
            if not target.exists() or (not args[-1].startswith("/dev/")
                                       and os.path.getsize(os.path.realpath(target)) < 10 * PAGE):
                return 1, "", f"mkswap: error: swap area needs to be at least {10 * PAGE // 1024} KiB\n"
            self.mkswap(args[-1])
            return 0, "Setting up swapspace version 1\n", ""
        if name == "swapon":
            priority, path = int(args[args.index("-p") + 1]), args[-1]
            active = self.active()
            if path in active:
                return 1, "", f"swapon: {path}: swapon failed: Device or resource busy\n"
            if not self.signature(path):
                return 1, "", f"swapon: {path}: read swap header failed\n"
            active[path] = (max(self.size_of(path) // 1024 - PAGE // 1024, 0), 0, priority)
            self.write_swaps(active)
            return 0, "", ""
        if name == "swapoff":
            path = args[-1]
            active = self.active()
            if path not in active:
                return 1, "", f"swapoff: {path}: swapoff failed: Invalid argument\n"
            if self.spec.swapoff_fails:
                return 1, "", self.spec.swapoff_fails
            del active[path]
            self.write_swaps(active)
            return 0, "", ""
        return 127, "", f"{name}: not simulated"


class FakeHost(SwapHost):
    """SwapHost on the simulated tree: its block devices are the files listed in the spec."""

    def __init__(self, fake: FakeSwap) -> None:
        super().__init__(fake.io, fake.run)
        self.fake = fake

    def is_block_device(self, path: str) -> bool:
        return self.canonical(path) in self.fake.spec.block_devices
