"""HostLock: exclusive vs shared, timeout with a clear message, release."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import LockTimeoutError, PolicyGroupsError
from ansible_collections.policygroups.core.plugins.module_utils._engine._lock import HostLock


def test_exclusive_excludes_and_release_frees(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    with HostLock(path):
        start = time.monotonic()
        with pytest.raises(LockTimeoutError, match="gave up after 0.3 s"):
            HostLock(path, timeout=0.3).acquire()
        assert time.monotonic() - start >= 0.3
        with pytest.raises(LockTimeoutError):
            HostLock(path, timeout=0, shared=True).acquire()
    with HostLock(path, timeout=0):
        pass


def test_shared_locks_coexist_but_exclude_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    with HostLock(path, shared=True), HostLock(path, shared=True, timeout=0):
        with pytest.raises(LockTimeoutError):
            HostLock(path, timeout=0.1).acquire()


def test_lock_held_by_another_process(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); os.write(fd, b'%d' % os.getpid()); print('held', flush=True); time.sleep(30)",
         str(path)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockTimeoutError, match=f"PID {holder.pid}"):
            HostLock(str(path), timeout=0.2).acquire()
    finally:
        holder.kill()
        holder.wait()
    with HostLock(str(path), timeout=1):
        pass


@pytest.mark.parametrize("timeout", [float("nan"), float("inf"), -1.0])
def test_a_timeout_that_is_not_a_finite_number_of_seconds_is_refused(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(PolicyGroupsError, match=r"lock_timeout must be a finite number of seconds, 0 or more; got"):
        HostLock(str(tmp_path / "lock"), timeout=timeout)


def test_a_host_root_without_run_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyGroupsError, match=rf"cannot open the host lock {tmp_path}/run/policygroups.lock: "
                                                rf"{tmp_path}/run does not exist"):
        HostLock(str(tmp_path / "run" / "policygroups.lock")).acquire()


def test_the_lock_file_is_never_reached_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "run").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "target").write_text("keep")
    (tmp_path / "elsewhere" / "policygroups.lock").symlink_to(tmp_path / "target")
    with pytest.raises(PolicyGroupsError, match="a symbolic link is on its path, which is never followed"):
        HostLock(str(tmp_path / "run" / "policygroups.lock")).acquire()
    (tmp_path / "real-run").mkdir()
    (tmp_path / "real-run" / "policygroups.lock").symlink_to(tmp_path / "target")
    with pytest.raises(PolicyGroupsError, match="a symbolic link is on its path, which is never followed"):
        HostLock(str(tmp_path / "real-run" / "policygroups.lock")).acquire()
    assert (tmp_path / "target").read_text() == "keep"
