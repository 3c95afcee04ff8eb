# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tiny file-system layer every backend goes through (stdlib only).

All paths given to it are host paths (``/sys/fs/cgroup/policy/a/policy.thp``); ``root`` re-roots them, so the
same code runs against ``/`` on a host or a temporary tree laid out like one in tests. Errors are the plain
``OSError`` of the system call: backends map errno to messages.
"""

from __future__ import annotations

import os


class HostIO:
    """Reads and writes host files under ``root``. One ``write(2)`` per value: a kernel file takes the whole
    value or nothing, so a value is never half-written."""

    def __init__(self, root: str = "/") -> None:
        self.root = root

    def real(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"host path must be absolute: {path!r}")
        if self.root in ("", "/"):
            return path
        return os.path.join(self.root, path.lstrip("/"))

    def read(self, path: str) -> str:
        fd = os.open(self.real(path), os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks = []
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(fd)
        return b"".join(chunks).decode("utf-8", errors="replace")

    def write(self, path: str, data: str) -> None:
        payload = data.encode("utf-8")
        fd = os.open(self.real(path), os.O_WRONLY | os.O_TRUNC | os.O_CLOEXEC)
        try:
            written = os.write(fd, payload)
        finally:
            os.close(fd)
        if written != len(payload):
            raise OSError(0, f"short write ({written} of {len(payload)} bytes)")

    def mkdir(self, path: str) -> None:
        os.mkdir(self.real(path))

    def rmdir(self, path: str) -> None:
        os.rmdir(self.real(path))

    def exists(self, path: str) -> bool:
        return os.path.exists(self.real(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.real(path))

    def subdirs(self, path: str) -> list[str]:
        with os.scandir(self.real(path)) as entries:
            return sorted(entry.name for entry in entries if entry.is_dir(follow_symlinks=False))
