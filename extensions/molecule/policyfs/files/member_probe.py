# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observe, from user space, how the kernel treats a memory-hungry member of one policy group.

Run on a test guest as root:  python3 member_probe.py GROUP_PATH [--policy-root DIR] [--size-mb N] [--memory-max SIZE]

1. Starts a helper process in its own transient systemd service whose cgroup has ``MemoryMax`` far below
   the memory the helper will touch, so its anonymous pages must go to swap (or, without swap, it is
   OOM-killed inside that cgroup).
2. Moves the helper into the policy group by writing its PID to ``GROUP_PATH/cgroup.procs`` and reads what
   the kernel now shows for it: ``THP_enabled``/``THP_policy`` (/proc/PID/status), ``ksm_merge_any``
   (/proc/PID/ksm_stat) and ``/proc/PID/oom_score_adj``.
3. Lets the helper touch its memory and reports how much each swap device's ``Used`` (/proc/swaps) grew.

Prints one JSON object. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import struct
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

PAGE = mmap.PAGESIZE


def read_swaps() -> dict[str, int]:
    """Used KiB per swap device."""
    used: dict[str, int] = {}
    for line in Path("/proc/swaps").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 4:
            used[fields[0]] = int(fields[3])
    return used


def status_fields(pid: int) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _sep, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def ksm_stat(pid: int) -> dict[str, str]:
    path = Path(f"/proc/{pid}/ksm_stat")
    stats: dict[str, str] = {}
    if not path.exists():
        return stats
    for line in path.read_text().splitlines():
        key, _sep, value = line.replace(":", " ", 1).partition(" ")
        stats[key.strip()] = value.strip()
    return stats


def policy_cgroup(pid: int) -> str | None:
    """The process's path in the policy hierarchy, from /proc/PID/cgroup."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _hierarchy, controllers, path = line.split(":", 2)
        if "policy" in controllers.split(","):
            return path
    return None


def observe(pid: int) -> dict[str, Any]:
    status = status_fields(pid)
    ksm = ksm_stat(pid)
    return {
        "policy_group": policy_cgroup(pid),
        "thp_enabled": status.get("THP_enabled"),
        "thp_policy": status.get("THP_policy"),
        "ksm_merge_any": ksm.get("ksm_merge_any"),
        "oom_score_adj": int(Path(f"/proc/{pid}/oom_score_adj").read_text()),
        "vm_swap_kb": int(status.get("VmSwap", "0 kB").split()[0]),
    }


def hog(size_mb: int, go: Path, done: Path) -> None:
    """Wait for the go file, then touch size_mb of distinct anonymous pages and sleep until killed."""
    while not go.exists():
        time.sleep(0.05)
    size = size_mb * 1024 * 1024
    area = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    for _pass in range(2):  # a second pass pushes the first pass's pages out again
        for offset in range(0, size, PAGE):
            area[offset:offset + 8] = struct.pack("Q", offset)  # distinct pages: nothing for KSM to merge
    done.write_text("done\n")
    while True:
        time.sleep(3600)


def unit_main_pid(unit: str, deadline: float) -> int:
    while time.monotonic() < deadline:
        out = subprocess.run(["systemctl", "show", "-P", "MainPID", unit], capture_output=True, text=True, check=False)
        pid = int(out.stdout.strip() or 0)
        if pid:
            return pid
        time.sleep(0.1)
    raise TimeoutError(f"{unit} did not start")


def unit_active(unit: str) -> bool:
    out = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False)
    return out.stdout.strip() in ("active", "activating", "reloading")


def probe(group: str, policy_root: Path, size_mb: int, memory_max: str, timeout: float) -> dict[str, Any]:
    token = uuid.uuid4().hex[:8]
    unit = f"member-probe-{token}.service"
    go, done = Path(f"/run/member-probe-{token}.go"), Path(f"/run/member-probe-{token}.done")
    subprocess.run(
        ["systemd-run", "--quiet", "--collect", f"--unit={unit}", "--property=OOMPolicy=continue",
         f"--property=MemoryMax={memory_max}", "--property=MemorySwapMax=infinity",
         sys.executable, os.path.abspath(__file__), "--hog", str(size_mb), str(go), str(done)],
        check=True,
    )
    result: dict[str, Any] = {"group": group, "unit": unit, "size_mb": size_mb, "memory_max": memory_max}
    deadline = time.monotonic() + timeout
    try:
        pid = unit_main_pid(unit, deadline)
        result["pid"] = pid
        (policy_root / group / "cgroup.procs").write_text(f"{pid}\n")
        result["joined"] = observe(pid)
        before = read_swaps()
        go.write_text("go\n")
        while not done.exists() and unit_active(unit) and time.monotonic() < deadline:
            time.sleep(0.2)
        result["completed"] = done.exists()
        result["killed"] = not done.exists() and not unit_active(unit)
        result["timed_out"] = not done.exists() and not result["killed"]
        if done.exists():
            result["after"] = observe(pid)
        after = read_swaps()
        result["swap_used_delta_kb"] = {
            dev: after.get(dev, 0) - before.get(dev, 0) for dev in sorted(set(before) | set(after))
        }
    finally:
        subprocess.run(["systemctl", "stop", unit], capture_output=True, check=False)
        go.unlink(missing_ok=True)
        done.unlink(missing_ok=True)
    return result


def main(argv: list[str]) -> int:
    if len(argv) == 4 and argv[0] == "--hog":
        hog(int(argv[1]), Path(argv[2]), Path(argv[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", help="group path below the policy root, e.g. background/batch")
    parser.add_argument("--policy-root", type=Path, default=Path("/sys/fs/cgroup/policy"))
    parser.add_argument("--size-mb", type=int, default=160)
    parser.add_argument("--memory-max", default="64M")
    parser.add_argument("--timeout", type=float, default=240.0)
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.group, args.policy_root, args.size_mb, args.memory_max, args.timeout), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
