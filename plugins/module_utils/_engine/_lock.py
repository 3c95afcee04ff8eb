# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-wide lock serialising policy-group runs: ``fcntl.flock`` on a lock file (stdlib only).

Changing runs take the lock exclusively; check-mode runs take it shared, so they read a consistent state
without blocking each other. The holder of an exclusive lock writes its PID into the file so a waiter that
gives up can say who holds it. The file is never removed (removing a flock file races with waiters).

The lock is re-entrant within a thread: a run that holds it from its first read to its last write (policy_host)
calls steps that take it again. A flock belongs to the open file description, so a second open would wait for
the first; a lock this thread already holds is counted instead, and let go when the outermost holder releases it.
A shared lock inside an exclusive one is the exclusive one; an exclusive lock inside a shared one is refused.
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
import threading
import time
from dataclasses import dataclass
from types import TracebackType

from ._errors import LockTimeoutError, PolicyGroupsError
from ._io import open_nofollow

DEFAULT_LOCK_PATH = "/run/policygroups.lock"


@dataclass
class _Held:
    fd: int
    shared: bool
    count: int  # HostLock objects holding it


# (process, thread, absolute path) -> the lock that thread holds; the process in the key, so that a child forked
# while a lock is held takes its own
_HELD: dict[tuple[int, int, str], _Held] = {}


class HostLock:
    """Context manager: ``with HostLock(path, timeout=30): ...``."""

    def __init__(self, path: str = DEFAULT_LOCK_PATH, timeout: float = 60.0, shared: bool = False, poll: float = 0.05) -> None:
        if not isinstance(timeout, (int, float)) or not math.isfinite(timeout) or timeout < 0:
            raise PolicyGroupsError(f"lock_timeout must be a finite number of seconds, 0 or more; got {timeout!r}")
        self.path = path
        self.timeout = timeout
        self.shared = shared
        self.poll = poll
        self._key: tuple[int, int, str] | None = None  # set while this object holds the lock

    def acquire(self) -> None:
        if self._key is not None:
            raise PolicyGroupsError(f"the host lock {self.path} is acquired twice through the same HostLock")
        key = (os.getpid(), threading.get_ident(), os.path.abspath(self.path))
        held = _HELD.get(key)
        if held is not None:
            if held.shared and not self.shared:
                raise PolicyGroupsError(
                    f"cannot take the host lock {self.path} exclusively: this process holds it shared, and a shared "
                    "lock is never made exclusive in place (another reader may hold it too)")
            held.count += 1
            self._key = key
            return
        _HELD[key] = _Held(self._lock(), self.shared, 1)
        self._key = key

    def _lock(self) -> int:
        """Open the lock file and flock it, waiting up to the timeout; its descriptor."""
        try:
            # no link is followed on the way to the lock file, nor to the file itself
            fd = open_nofollow("/", self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            directory = os.path.dirname(self.path)
            why = f"{directory} does not exist" if exc.errno == errno.ENOENT else (exc.strerror or str(exc))
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a symbolic link on the way
                why = "a symbolic link is on its path, which is never followed"
            raise PolicyGroupsError(f"cannot open the host lock {self.path}: {why}") from exc
        mode = (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, mode)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = self._holder(fd)
                    os.close(fd)
                    raise LockTimeoutError(
                        f"another policy-groups run holds the host lock {self.path}{holder}; "
                        f"gave up after {self.timeout:g} s"
                    ) from None
                time.sleep(self.poll)
            except BaseException:
                os.close(fd)
                raise
        if not self.shared:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        return fd

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            text = os.pread(fd, 32, 0).decode(errors="replace").strip()
        except OSError:
            return ""
        return f" (last exclusive holder: PID {text})" if text.isdigit() else ""

    def release(self) -> None:
        """Let go of this object's hold; the lock itself goes with the last hold (a second release does nothing)."""
        key, self._key = self._key, None
        if key is None:
            return
        held = _HELD[key]
        held.count -= 1
        if held.count == 0:
            del _HELD[key]
            try:
                fcntl.flock(held.fd, fcntl.LOCK_UN)
            finally:
                os.close(held.fd)

    def __enter__(self) -> HostLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
