"""HostLock: exclusive vs shared, timeout with a clear message, release."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from lockprobe import other_process_can_lock

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import LockTimeoutError, PolicyGroupsError
from ansible_collections.policygroups.core.plugins.module_utils._engine._lock import HostLock


def from_another_thread(lock: HostLock) -> BaseException | None:
    """Take ``lock`` and let it go in a thread of its own, as another run would (this thread's locks are re-entrant):
    what that raised, if anything."""
    raised: list[BaseException] = []

    def take() -> None:
        try:
            with lock:
                pass
        except BaseException as exc:  # pylint: disable=broad-except
            raised.append(exc)

    thread = threading.Thread(target=take)
    thread.start()
    thread.join()
    return raised[0] if raised else None


def test_exclusive_excludes_and_release_frees(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    with HostLock(path):
        start = time.monotonic()
        refused = from_another_thread(HostLock(path, timeout=0.3))
        assert isinstance(refused, LockTimeoutError) and str(refused).endswith("gave up after 0.3 s"), refused
        assert time.monotonic() - start >= 0.3
        assert isinstance(from_another_thread(HostLock(path, timeout=0, shared=True)), LockTimeoutError)
    with HostLock(path, timeout=0):
        pass


def test_shared_locks_coexist_but_exclude_writers(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    with HostLock(path, shared=True):
        assert from_another_thread(HostLock(path, shared=True, timeout=0)) is None
        assert isinstance(from_another_thread(HostLock(path, timeout=0.1)), LockTimeoutError)


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


def test_nested_locks_in_one_process_share_the_outer_one(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    outer = HostLock(path, timeout=0)
    with outer:
        with HostLock(path, timeout=0), HostLock(path, timeout=0, shared=True):
            assert not other_process_can_lock(path, shared=True)
        # the inner ones are released, the outer one still holds the lock against other processes
        assert not other_process_can_lock(path, shared=True)
        assert (tmp_path / "lock").read_text() == f"{os.getpid()}\n"
    assert other_process_can_lock(path)


def test_a_shared_outer_lock_keeps_out_writers_only_until_released(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    with HostLock(path, shared=True, timeout=0):
        with HostLock(path, shared=True, timeout=0):
            pass
        assert other_process_can_lock(path, shared=True) and not other_process_can_lock(path)
    assert other_process_can_lock(path)


def test_an_exclusive_lock_inside_a_shared_one_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    with HostLock(path, shared=True, timeout=5):
        start = time.monotonic()
        with pytest.raises(PolicyGroupsError, match=rf"cannot take the host lock {tmp_path}/lock exclusively: this "
                                                    r"process holds it shared") as refused:
            HostLock(path, timeout=5).acquire()
        assert not isinstance(refused.value, LockTimeoutError) and time.monotonic() - start < 1
        assert not other_process_can_lock(path)  # the shared lock is still held
    assert other_process_can_lock(path)


def test_releases_in_any_order_unlock_after_the_last(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    outer, inner = HostLock(path, timeout=0), HostLock(path, timeout=0, shared=True)
    outer.acquire()
    inner.acquire()
    outer.release()
    assert not other_process_can_lock(path, shared=True)
    outer.release()  # a second release of the same lock does not count again
    assert not other_process_can_lock(path, shared=True)
    inner.release()
    assert other_process_can_lock(path)
    with HostLock(path, shared=True, timeout=0):  # nothing is left of the nesting: a new lock starts afresh
        assert other_process_can_lock(path, shared=True) and not other_process_can_lock(path)


def test_a_child_forked_while_the_lock_is_held_does_not_count_as_its_holder(tmp_path: Path) -> None:
    path = str(tmp_path / "lock")
    with HostLock(path):
        pid = os.fork()
        if pid == 0:  # the child: the parent's lock is not the child's to nest into
            try:
                HostLock(path, timeout=0).acquire()
            except LockTimeoutError:
                os._exit(0)
            except BaseException:  # pylint: disable=broad-except
                os._exit(2)
            os._exit(1)
        _pid, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
