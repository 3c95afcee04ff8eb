# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a swap device plan reads of the host, and the commands it runs (stdlib only).

``SwapHost`` is the seam: files through ``HostIO`` (re-rooted in tests), commands through an injected runner
(``AnsibleModule.run_command`` in the module, a simulation in tests). It reads /proc/swaps, /proc/meminfo, the
kernel's tier table, a device's swap signature and configuration files, never following a link to a file that
may be written.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import Callable, Sequence

from .._engine._errors import BackendError, PlanError
from .._engine._io import HostIO, open_nofollow, read_nofollow
from .._engine._model import TierSpec
from .._engine._procfs import swap_lines
from .._engine._swaptiers import parse_table

TIERS_FILE = "/sys/kernel/mm/swap/tiers"
PROC_SWAPS = "/proc/swaps"
PROC_MEMINFO = "/proc/meminfo"
SIGNATURES = (b"SWAPSPACE2", b"SWAP-SPACE")
_BY = {"UUID": "by-uuid", "LABEL": "by-label", "PARTUUID": "by-partuuid", "PARTLABEL": "by-partlabel"}

Runner = Callable[[Sequence[str]], "tuple[int, str, str]"]


@dataclass(frozen=True)
class Active:
    """The device's line of /proc/swaps."""

    priority: int
    size_kb: int
    used_kb: int


class SwapHost:
    """The host's files and commands as the plan and its operations see them."""

    def __init__(self, io: HostIO, run: Runner) -> None:
        self.io = io
        self.run = run
        self.warnings: list[str] = []

    # --- reading -------------------------------------------------------------------------------------------------

    def tiers(self) -> tuple[TierSpec, ...] | None:
        """The kernel's tier table; None when the kernel has no swap tiers."""
        try:
            return parse_table(self.io.read(TIERS_FILE))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BackendError(f"cannot read {TIERS_FILE}: {exc.strerror or exc}", exc.errno) from exc

    def swaps(self) -> dict[str, Active]:
        try:
            text = self.io.read(PROC_SWAPS)
        except OSError as exc:
            raise BackendError(f"cannot read {PROC_SWAPS}: {exc.strerror or exc}", exc.errno) from exc
        return {d.path: Active(d.priority, d.size_kb, d.used_kb) for d in swap_lines(text)}

    def meminfo_kb(self, key: str) -> int:
        for line in self.io.read(PROC_MEMINFO).splitlines():
            name, _sep, rest = line.partition(":")
            if name == key:
                return int(rest.split()[0])
        raise BackendError(f"{PROC_MEMINFO} has no {key}")

    def canonical(self, path: str) -> str:
        """``path`` with every link resolved, as /proc/swaps names a device (reading only: nothing is written
        through it)."""
        real = os.path.realpath(self.io.real(path))
        root = os.path.realpath(self.io.root or "/")
        if root == "/":
            return real
        return "/" + os.path.relpath(real, root) if real.startswith(root + "/") else real

    def spec_path(self, spec: str) -> str | None:
        """The host path an fstab spec names (``UUID=...`` through /dev/disk/by-uuid), None for one it cannot."""
        key, sep, value = spec.partition("=")
        if sep and key in _BY:
            return f"/dev/disk/{_BY[key]}/{value}"
        return spec if spec.startswith("/") else None

    def is_block_device(self, path: str) -> bool:
        try:
            return stat.S_ISBLK(os.stat(self.io.real(path)).st_mode)
        except OSError:
            return False

    def read_signature(self, path: str, nofollow: bool) -> bool:
        """Whether ``path`` starts with a swap area (mkswap's signature at the end of the first page)."""
        page = os.sysconf("SC_PAGESIZE")
        flags = os.O_RDONLY | os.O_CLOEXEC
        try:
            fd = open_nofollow(self.io.root, path, flags) if nofollow else os.open(self.io.real(path), flags)
            try:
                tail = os.pread(fd, 10, page - 10)
            finally:
                os.close(fd)
        except OSError as exc:
            raise PlanError(f"cannot read the swap signature of {path}: {exc.strerror or exc}") from exc
        return tail in SIGNATURES

    def read_file(self, path: str) -> str | None:
        """A configuration file's text (None when absent); a link at its path or on the way is an error."""
        try:
            return read_nofollow(self.io.root, path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PlanError(write_refusal(path, exc)) from exc

    # --- commands ------------------------------------------------------------------------------------------------

    def command(self, argv: Sequence[str], what: str) -> None:
        rc, out, err = self.run(argv)
        if rc != 0:
            detail = (err or out).strip() or f"exit status {rc}"
            raise BackendError(f"{what} failed: {' '.join(argv)}: {detail}")


def write_refusal(path: str, exc: OSError) -> str:
    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
        return f"{path}: a symbolic link is on its path or at it, which is never followed for a file this module writes"
    return f"cannot read {path}: {exc.strerror or exc}"
