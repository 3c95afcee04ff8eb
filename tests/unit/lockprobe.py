"""Whether another process could take the host lock right now: the tests' view from outside a run."""

from __future__ import annotations

import subprocess
import sys


def other_process_can_lock(path: str, shared: bool = False) -> bool:
    """Whether a separate process gets the lock on ``path`` now, without waiting (shared with ``shared``)."""
    mode = "LOCK_SH" if shared else "LOCK_EX"
    tried = subprocess.run(
        [sys.executable, "-c", "import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT)\n"
         f"try: fcntl.flock(fd, fcntl.{mode}|fcntl.LOCK_NB)\n"
         "except BlockingIOError: print('blocked')\nelse: print('locked')", path],
        capture_output=True, text=True, check=True, timeout=30)
    return tried.stdout.strip() == "locked"
