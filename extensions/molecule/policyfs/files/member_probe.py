# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Observe, from user space, how the kernel treats a memory-hungry member of one policy group.

Run on a test guest as root:
  python3 member_probe.py GROUP_PATH [--policy-root DIR] [--size-mb N] [--memory-max SIZE] [--memory-high SIZE]
                          [--zswap]

1. Starts a helper process in its own transient systemd service whose cgroup has ``MemoryMax`` far below
   the memory the helper will touch, so its anonymous pages must go to swap (or, without swap, it is
   OOM-killed inside that cgroup). With ``--memory-high`` the cgroup's ``MemoryHigh`` is that instead, below a
   ``MemoryMax`` above what the helper touches: the kernel then reclaims and throttles the helper rather than
   OOM-killing it when its swap device writes more slowly than the helper dirties pages. Under ``MemoryMax``
   alone, reclaim does not wait for swap writes in flight (cgroup v2 memory reclaim skips pages under
   writeback), so a slow device lets the charge fail its retries and the helper is killed with most of its
   pages never swapped.
2. Moves the helper into the policy group by writing its PID to ``GROUP_PATH/cgroup.procs`` and reads what
   the kernel now shows for it: ``THP_enabled``/``THP_policy`` (/proc/PID/status), ``ksm_merge_any``
   (/proc/PID/ksm_stat) and ``/proc/PID/oom_score_adj``.
3. Lets the helper touch its memory and reports how much each swap device's ``Used`` (/proc/swaps) grew, and,
   from /proc/PID/numa_maps, the memory policy of its area and the NUMA node of each resident page of it.

With ``--zswap`` the helper writes pages that compress to about a quarter, and the probe then asks the
helper's memory cgroup to reclaim more (``memory.reclaim``), which lets zswap's shrinker write back what it
may; it reports the pages the memory cgroup stored in zswap and those zswap wrote back to a swap device
(``zswpout``, ``zswpwb`` of ``memory.stat``). zswap itself must be enabled by the caller.

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


def numa_area(pid: int) -> dict[str, Any]:
    """The memory policy and the pages per NUMA node of the process's largest anonymous mapping.

    numa_maps prints a mapping's own policy, else the task's (set_mempolicy(2), or the policy group's).
    """
    best: tuple[int, str, dict[str, int]] = (-1, "", {})
    try:
        lines = Path(f"/proc/{pid}/numa_maps").read_text().splitlines()
    except OSError:  # a kernel without CONFIG_NUMA has no numa_maps
        return {}
    for line in lines:
        fields = line.split()
        if len(fields) < 2:
            continue
        values = dict(f.split("=", 1) for f in fields[2:] if "=" in f)
        anon = int(values.get("anon", "0"))
        if anon > best[0]:
            nodes = {k[1:]: int(v) for k, v in values.items() if k[:1] == "N" and k[1:].isdigit()}
            best = (anon, fields[1], nodes)
    return {"numa_policy": best[1], "numa_nodes": best[2]} if best[0] >= 0 else {}


def observe(pid: int) -> dict[str, Any]:
    status = status_fields(pid)
    ksm = ksm_stat(pid)
    return numa_area(pid) | {
        "policy_group": policy_cgroup(pid),
        "thp_enabled": status.get("THP_enabled"),
        "thp_policy": status.get("THP_policy"),
        "ksm_merge_any": ksm.get("ksm_merge_any"),
        "oom_score_adj": int(Path(f"/proc/{pid}/oom_score_adj").read_text()),
        "vm_swap_kb": int(status.get("VmSwap", "0 kB").split()[0]),
    }


def hog(size_mb: int, go: Path, done: Path, compressible: bool) -> None:
    """Wait for the go file, then touch size_mb of distinct anonymous pages and sleep until killed.

    compressible: one pass, the first quarter of each page random (zswap stores it in about a quarter);
    else two passes of an 8-byte stamp per page (the second pass pushes the first one's pages out again).
    """
    while not go.exists():
        time.sleep(0.05)
    size = size_mb * 1024 * 1024
    area = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if compressible:
        for offset in range(0, size, PAGE):
            area[offset:offset + PAGE // 4] = os.urandom(PAGE // 4)
    else:
        for _pass in range(2):
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


def running(pid: int) -> bool:
    """Whether the helper is still there. systemd, its parent, updates the unit's state before it reaps the helper
    (it peeks with WNOWAIT first), so once this is false unit_active() tells an exit or a kill. The wait polls this,
    not systemctl, which costs about 0.1 s of a vCPU per call under software emulation, taken from the helper."""
    return Path(f"/proc/{pid}").exists()


def unit_active(unit: str) -> bool:
    out = subprocess.run(["systemctl", "is-active", unit], capture_output=True, text=True, check=False)
    return out.stdout.strip() in ("active", "activating", "reloading")


def memcg_stat(cgroup: Path) -> dict[str, int]:
    fields = (line.split() for line in (cgroup / "memory.stat").read_text().splitlines())
    return {f[0]: int(f[1]) for f in fields if len(f) == 2}


def reclaim_into_zswap(unit: str) -> dict[str, int]:
    """Ask the unit's memory cgroup to reclaim 256 MiB in steps; return its zswap stores and writebacks."""
    path = subprocess.run(["systemctl", "show", "-P", "ControlGroup", unit], capture_output=True, text=True,
                          check=True).stdout.strip()
    cgroup = Path("/sys/fs/cgroup") / path.lstrip("/")
    before = memcg_stat(cgroup)
    for _step in range(16):
        try:
            (cgroup / "memory.reclaim").write_text("16M\n")
        except OSError:  # EAGAIN: reclaimed less than asked
            pass
    after = memcg_stat(cgroup)
    return {key: after.get(key, 0) - before.get(key, 0) for key in ("zswpout", "zswpwb")}


def probe(group: str, policy_root: Path, size_mb: int, memory_max: str, timeout: float,
          zswap: bool = False, memory_high: str | None = None) -> dict[str, Any]:
    token = uuid.uuid4().hex[:8]
    unit = f"member-probe-{token}.service"
    # On disk, not in /run: a file the helper writes on tmpfs is shmem charged to its memory cgroup, which zswap
    # may write back whatever the policy group says (the policy covers the group's anonymous memory).
    go, done = Path(f"/var/tmp/member-probe-{token}.go"), Path(f"/var/tmp/member-probe-{token}.done")
    subprocess.run(
        ["systemd-run", "--quiet", "--collect", f"--unit={unit}", "--property=OOMPolicy=continue",
         f"--property=MemoryMax={memory_max}", f"--property=MemoryHigh={memory_high or 'infinity'}",
         "--property=MemorySwapMax=infinity",
         sys.executable, os.path.abspath(__file__), "--hog" + ("-compressible" if zswap else ""), str(size_mb),
         str(go), str(done)],
        check=True,
    )
    result: dict[str, Any] = {"group": group, "unit": unit, "size_mb": size_mb, "memory_max": memory_max,
                              "memory_high": memory_high}
    deadline = time.monotonic() + timeout
    try:
        pid = unit_main_pid(unit, deadline)
        result["pid"] = pid
        (policy_root / group / "cgroup.procs").write_text(f"{pid}\n")
        result["joined"] = observe(pid)
        before = read_swaps()
        go.write_text("go\n")
        while not done.exists() and running(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        result["completed"] = done.exists()
        result["killed"] = not done.exists() and not unit_active(unit)
        result["timed_out"] = not done.exists() and not result["killed"]
        if done.exists():
            if zswap:
                result["zswap"] = reclaim_into_zswap(unit)
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
    if len(argv) == 4 and argv[0] in ("--hog", "--hog-compressible"):
        hog(int(argv[1]), Path(argv[2]), Path(argv[3]), argv[0] == "--hog-compressible")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("group", help="group path below the policy root, e.g. background/batch")
    parser.add_argument("--policy-root", type=Path, default=Path("/sys/fs/cgroup/policy"))
    parser.add_argument("--size-mb", type=int, default=96)
    parser.add_argument("--memory-max", default=None, help="default 32M")
    parser.add_argument("--memory-high", default=None,
                        help="reclaim and throttle above this instead (give --memory-max above --size-mb)")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--zswap", action="store_true",
                        help="compressible pages, then memory.reclaim: report zswap's stores and writebacks")
    args = parser.parse_args(argv)
    if args.memory_high and args.memory_max is None:
        parser.error("--memory-high needs a --memory-max above --size-mb (the default 32M would OOM-kill the helper)")
    result = probe(args.group, args.policy_root, args.size_mb, args.memory_max or "32M", args.timeout, args.zswap,
                   args.memory_high)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
