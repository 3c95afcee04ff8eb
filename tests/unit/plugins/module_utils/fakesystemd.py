"""A host tree with systemd for the systemd backend's tests: files under a temporary root and a fake
``systemctl`` that behaves like systemd 257 for the calls the backend makes (show, daemon-reload,
set-property --runtime, try-restart)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from ansible_collections.policygroups.core.plugins.module_utils._systemd._dropins import parse_properties

DEFAULT_PROPERTIES = ("OOMScoreAdjust", "MemoryKSM", "MemoryZSwapWriteback", "MemorySwapMax", "NUMAPolicy", "NUMAMask")
PROPERTY_DEFAULTS = {"OOMScoreAdjust": "0", "MemoryKSM": "no", "MemoryZSwapWriteback": "yes", "MemorySwapMax": "infinity",
                     "NUMAPolicy": "n/a", "NUMAMask": "", "MemoryTHP": "inherit"}
LIVE = {"MemorySwapMax": ("memory.swap.max", {"0": "0", "infinity": "max"}),
        "MemoryZSwapWriteback": ("memory.zswap.writeback", {"yes": "1", "no": "0"})}


class FakeSystemd:
    """Units are ``{name: active?}``; their configuration is read from the drop-ins under the root at
    ``daemon-reload``, like systemd, and only ``set-property --runtime`` touches a live cgroup file."""

    def __init__(self, root: Path, properties: Sequence[str] = DEFAULT_PROPERTIES, zswap: bool = True) -> None:
        self.root = root
        self.properties = tuple(properties)
        self.calls: list[list[str]] = []
        self.fail: dict[str, tuple[int, str]] = {}
        self.units: dict[str, bool] = {}
        self.configured: dict[str, dict[str, str]] = {}
        for path in ("run/systemd/system", "etc/systemd/system", "sys/kernel/mm/ksm", "sys/kernel/mm/transparent_hugepage"):
            (root / path).mkdir(parents=True, exist_ok=True)
        (root / "proc/sys/kernel").mkdir(parents=True, exist_ok=True)
        (root / "proc/sys/kernel/osrelease").write_text("6.12.0-test\n")
        (root / "sys/fs/cgroup/system.slice").mkdir(parents=True, exist_ok=True)
        (root / "sys/fs/cgroup/cgroup.controllers").write_text("cpu memory pids\n")
        (root / "sys/fs/cgroup/system.slice/memory.swap.max").write_text("max\n")
        if zswap:
            (root / "sys/fs/cgroup/system.slice/memory.zswap.writeback").write_text("1\n")

    # -- test set-up -------------------------------------------------------------------------------------------
    def add_unit(self, unit: str, active: bool = True) -> None:
        self.units[unit] = active
        cgroup = self.root / "sys/fs/cgroup/system.slice" / unit
        cgroup.mkdir(parents=True, exist_ok=True)
        (cgroup / "memory.swap.max").write_text("max\n")
        (cgroup / "memory.zswap.writeback").write_text("1\n")
        self._load(unit)

    def live(self, unit: str, name: str) -> str:
        return (self.root / "sys/fs/cgroup/system.slice" / unit / name).read_text().strip()

    def ops(self) -> list[str]:
        return [call[0] for call in self.calls if call[0] not in ("show", "--version")]

    # -- systemd behaviour -------------------------------------------------------------------------------------
    def _on_disk(self, unit: str) -> dict[str, str]:
        props = dict(PROPERTY_DEFAULTS)
        for directory in (self.root / "etc/systemd/system" / f"{unit}.d", self.root / "run/systemd/system.control" / f"{unit}.d"):
            for path in sorted(directory.glob("*.conf")) if directory.is_dir() else ():
                props.update(parse_properties(path.read_text()))
        return props

    def _load(self, unit: str) -> None:
        self.configured[unit] = self._on_disk(unit)

    def __call__(self, argv: Sequence[str]) -> tuple[int, str, str]:
        argv = list(argv)
        self.calls.append(argv)
        if argv[0] in self.fail:
            rc, err = self.fail[argv[0]]
            return rc, "", err
        if argv[0] == "--version":
            return 0, "systemd 257 (257.9-1)\n+PAM +AUDIT\n", ""
        if argv[0] == "show":
            return 0, self._show(argv), ""
        if argv[0] == "daemon-reload":
            for unit in self.units:
                self._load(unit)
            return 0, "", ""
        if argv[:3] == ["set-property", "--runtime", "--"]:
            unit, pairs = argv[3], argv[4:]
            control = self.root / "run/systemd/system.control" / f"{unit}.d"
            control.mkdir(parents=True, exist_ok=True)
            for pair in pairs:
                key, _sep, value = pair.partition("=")
                (control / f"50-{key}.conf").write_text(
                    '# This is a drop-in unit file extension, created via "systemctl set-property"\n'
                    f"# or an equivalent operation. Do not edit.\n[Service]\n{key}={value}\n")
                self.configured[unit][key] = value
                name, values = LIVE[key]
                if self.units.get(unit):
                    (self.root / "sys/fs/cgroup/system.slice" / unit / name).write_text(values[value] + "\n")
            return 0, "", ""
        if argv[:2] == ["try-restart", "--"]:
            return 0, "", ""
        return 1, "", f"unknown command {argv}"

    def _show(self, argv: list[str]) -> str:
        names = [a.split("=", 1)[1] for a in argv if a.startswith("--property=")]
        units = argv[argv.index("--") + 1:]
        blocks = []
        for unit in units:
            lines = []
            for name in names:
                if name == "ActiveState":
                    lines.append(f"ActiveState={'active' if self.units.get(unit) else 'inactive'}")
                elif name == "MainPID":
                    lines.append(f"MainPID={4242 if self.units.get(unit) else 0}")
                elif name == "NeedDaemonReload":
                    lines.append(f"NeedDaemonReload={'yes' if unit in self.configured and self._on_disk(unit) != self.configured[unit] else 'no'}")
                elif name == "ControlGroup":
                    lines.append(f"ControlGroup={'/system.slice/' + unit if self.units.get(unit) else ''}")
                elif name in self.properties:
                    lines.append(f"{name}={self.configured.get(unit, PROPERTY_DEFAULTS).get(name, '')}")
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks) + "\n"
