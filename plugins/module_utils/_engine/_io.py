# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tiny file-system layer every backend goes through (stdlib only).

All paths given to it are host paths (``/sys/fs/cgroup/policy/a/policy.thp``); ``root`` re-roots them, so the
same code runs against ``/`` on a host or a temporary tree laid out like one in tests. Errors are the plain
``OSError`` of the system call: backends map errno to messages.

Everything written (a value, a directory made or removed, a file replaced) is reached without following a
symbolic link below the root: each directory is opened relative to the one before it with ``O_NOFOLLOW``,
and the last component is opened, made or removed relative to its directory's descriptor. A link planted in
a managed tree makes the write fail with ELOOP or ENOTDIR instead of landing outside it.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from typing import Callable, Iterator, NamedTuple

# Gives a file written whole its security label before it is renamed into place. Called with the temporary file
# and the file it replaces (which may not exist), both as /proc/self/fd/<directory fd>/<name> so that no path is
# resolved again, and the final path on this host (for the policy's default context).
Labeller = Callable[[str, str, str], None]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _components(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    if any(p in (".", "..") for p in parts):
        raise OSError(22, f"'.' or '..' in {path!r}")
    return parts


@contextlib.contextmanager
def parent_fd(root: str, path: str) -> Iterator[tuple[int, str]]:
    """``(descriptor of the directory holding path's last component, that component)``, for the host path
    ``path`` under ``root``; no directory below ``root`` is reached through a symbolic link."""
    parts = _components(path)
    if not parts:
        raise OSError(22, f"no file name in {path!r}")
    fd = os.open(root or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        yield fd, parts[-1]
    finally:
        os.close(fd)


def open_nofollow(root: str, path: str, flags: int, mode: int = 0o600) -> int:
    """``os.open`` of ``path`` under ``root`` without following a link on the way or at the end."""
    with parent_fd(root, path) as (fd, name):
        return os.open(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)


def makedirs_nofollow(root: str, path: str, mode: int = 0o755) -> None:
    """``mkdir -p`` of ``path`` under ``root``, each directory made or entered without following a link."""
    fd = os.open(root or "/", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in _components(path):
            try:
                os.mkdir(part, mode, dir_fd=fd)
            except FileExistsError:
                pass
            child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
    finally:
        os.close(fd)


def fsync_dir(root: str, path: str) -> None:
    """fsync the directory ``path`` (under ``root``), so a rename or unlink in it survives a crash."""
    fd = open_nofollow(root, path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_fd(fd: int) -> str:
    """The whole content of the open file ``fd``, which is closed."""
    try:
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
    finally:
        os.close(fd)
    return b"".join(chunks).decode("utf-8", errors="replace")


def read_nofollow(root: str, path: str) -> str:
    """The text of ``path`` under ``root``, reached without following a link (ELOOP or ENOTDIR otherwise)."""
    return _read_fd(open_nofollow(root, path, os.O_RDONLY))


class FlatKeyed(NamedTuple):
    """A flat ``key value`` file (as cgroup's ``memory.stat``): the values by key, in the file's order, and one
    message for each line that was left out."""

    values: dict[str, int]
    left_out: tuple[str, ...] = ()


_COUNT = re.compile(r"[0-9]+")


def parse_flat_keyed(text: str, name: str = "") -> FlatKeyed:
    """``key value`` lines whose value is a non-negative integer. Every key is kept, known or not; a line of another
    form (a value that is not such an integer, a missing or extra field) or a key seen before is left out, with a
    message naming ``name`` and the line. Blank lines are ignored."""
    values: dict[str, int] = {}
    left_out: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{name}, line {number}" if name else f"line {number}"
        if len(fields) != 2 or not _COUNT.fullmatch(fields[1]):
            left_out.append(f"{where} left out: {line.strip()!r} is not a key and a non-negative integer")
        elif fields[0] in values:
            left_out.append(f"{where} left out: key {fields[0]!r} was already read ({values[fields[0]]})")
        else:
            values[fields[0]] = int(fields[1])
    return FlatKeyed(values, tuple(left_out))


def host_path(root: str, path: str) -> str:
    """``path`` (absolute, on the host) as seen from here: below ``root`` unless ``root`` is ``/``. Plain string
    work, not ``os.path.join``'s generality: it runs for every file of every group."""
    if root in ("", "/"):
        return path
    return root.rstrip("/") + "/" + path.lstrip("/")


def replace_nofollow(root: str, path: str, data: bytes, mode: int = 0o644, label: Labeller | None = None) -> None:
    """Replace ``path`` under ``root`` as a whole or not at all: a temporary file in its directory, fsync, rename,
    fsync of the directory. Directories are made or entered without following a link, and a link at ``path``
    itself is refused (ELOOP) instead of being replaced by a file. Owned by root when run as root.

    ``label`` (modules pass one when SELinux is enabled, see ``_module._selinux``) is called before the rename
    (see ``Labeller``), so the file appears with the context it is meant to have, as ``AnsibleModule.atomic_move``
    gives it; atomic_move itself is not used because it resolves the destination and its directories through
    symbolic links."""
    directory, name = os.path.split(path)
    makedirs_nofollow(root, directory)
    dfd = open_nofollow(root, directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            if stat.S_ISLNK(os.lstat(name, dir_fd=dfd).st_mode):
                raise OSError(errno.ELOOP, f"{path} is a symbolic link, which is never followed")
        except FileNotFoundError:
            pass
        tmp = f".{name}.{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=dfd)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
                os.fchmod(fd, mode)
                if os.geteuid() == 0:
                    os.fchown(fd, 0, 0)
            finally:
                os.close(fd)
            if label is not None:
                label(f"/proc/self/fd/{dfd}/{tmp}", f"/proc/self/fd/{dfd}/{name}", host_path(root, path))
            os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dfd)
            raise
        os.fsync(dfd)
    finally:
        os.close(dfd)


class HostIO:
    """Reads and writes host files under ``root``. One ``write(2)`` per value: a kernel file takes the whole
    value or nothing, so a value is never half-written."""

    def __init__(self, root: str = "/", label: Labeller | None = None) -> None:
        self.root = root
        self.label = label  # for files replaced whole (replace_nofollow), not for kernel files

    def real(self, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError(f"host path must be absolute: {path!r}")
        return host_path(self.root, path)

    def read(self, path: str) -> str:
        return _read_fd(os.open(self.real(path), os.O_RDONLY | os.O_CLOEXEC))

    def read_flat_keyed(self, path: str) -> FlatKeyed:
        """``parse_flat_keyed`` of ``path``, reached without following a symbolic link below the root."""
        return parse_flat_keyed(read_nofollow(self.root, path), path)

    @contextlib.contextmanager
    def directory(self, path: str) -> Iterator[Callable[[str], str]]:
        """``read`` for the files of one directory: the directory is looked up once and each file opened relative
        to it, which saves the walk of the whole path for every file (a group's policy files, read by the
        thousand on a large host). The files are read exactly as ``read`` reads them."""
        fd = os.open(self.real(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            yield lambda name: _read_fd(os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=fd))
        finally:
            os.close(fd)

    def write(self, path: str, data: str) -> None:
        payload = data.encode("utf-8")
        fd = open_nofollow(self.root, path, os.O_WRONLY | os.O_TRUNC)
        try:
            written = os.write(fd, payload)
        finally:
            os.close(fd)
        if written != len(payload):
            raise OSError(0, f"short write ({written} of {len(payload)} bytes)")

    def mkdir(self, path: str, mode: int = 0o777) -> None:
        with parent_fd(self.root, path) as (fd, name):
            os.mkdir(name, mode, dir_fd=fd)

    def rmdir(self, path: str) -> None:
        with parent_fd(self.root, path) as (fd, name):
            os.rmdir(name, dir_fd=fd)

    def unlink(self, path: str) -> None:
        with parent_fd(self.root, path) as (fd, name):
            os.unlink(name, dir_fd=fd)

    def exists(self, path: str) -> bool:
        return os.path.exists(self.real(path))

    def isdir(self, path: str) -> bool:
        return os.path.isdir(self.real(path))

    def subdirs(self, path: str) -> list[str]:
        with os.scandir(self.real(path)) as entries:
            return sorted(entry.name for entry in entries if entry.is_dir(follow_symlinks=False))
