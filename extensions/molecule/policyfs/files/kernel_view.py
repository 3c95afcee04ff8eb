# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read, raw and without interpretation, what the kernel shows about policy groups on a test guest.

Run on the guest as root:  python3 kernel_view.py [--policy-root DIR] [--unit UNIT...] [--boot-marker FILE]

Prints one JSON object: the policy root's features, the swap tier table and /proc/swaps (raw text), every group
directory with its policy.effective and policy.bind lines, and for each unit its main PID with that process's
policy-hierarchy path (/proc/PID/cgroup), THP_enabled/THP_policy (/proc/PID/status) and oom_score_adj.
With --boot-marker, FILE keeps the boot id of the first run (written when FILE is missing or empty) and "boot"
says whether this run is in that boot ("first") or a later one ("later").
The checks themselves are in verify.yml. Stdlib only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any


def lines(path: Path) -> list[str] | None:
    try:
        return path.read_text().splitlines()
    except OSError:
        return None


def policy_path(pid: int) -> str | None:
    for line in lines(Path(f"/proc/{pid}/cgroup")) or []:
        _hierarchy, controllers, path = line.split(":", 2)
        if "policy" in controllers.split(","):
            return path
    return None


def process(pid: int) -> dict[str, Any]:
    status = dict(line.partition(":")[::2] for line in lines(Path(f"/proc/{pid}/status")) or [])
    return {
        "pid": pid,
        "comm": (lines(Path(f"/proc/{pid}/comm")) or [""])[0],
        "policy_group": policy_path(pid),
        "thp_enabled": status.get("THP_enabled", "").strip() or None,
        "thp_policy": status.get("THP_policy", "").strip() or None,
        "oom_score_adj": int((lines(Path(f"/proc/{pid}/oom_score_adj")) or ["0"])[0]),
    }


def unit(name: str) -> dict[str, Any]:
    out = subprocess.run(["systemctl", "show", "-p", "MainPID", "-p", "ControlGroup", "--", name],
                         capture_output=True, text=True, check=False)
    props = dict(line.partition("=")[::2] for line in out.stdout.splitlines())
    pid = int(props.get("MainPID") or 0)
    return {"control_group": props.get("ControlGroup") or None, "main": process(pid) if pid else None}


def view(root: Path, units: list[str]) -> dict[str, Any]:
    groups = {}
    for directory in sorted(p for p in root.rglob("*") if p.is_dir()):
        rel = str(directory.relative_to(root))
        groups[rel] = {"effective": lines(directory / "policy.effective"), "bind": lines(directory / "policy.bind")}
    return {
        "features": ((lines(root / "policy.features") or [""])[0]).split(),
        "abi_version": (lines(root / "policy.abi_version") or [None])[0],
        "root_effective": lines(root / "policy.effective"),
        "tiers": lines(Path("/sys/kernel/mm/swap/tiers")),
        "swaps": lines(Path("/proc/swaps")),
        "groups": groups,
        "units": {name: unit(name) for name in units},
    }


def boot(marker: Path) -> str:
    """Say "first" when this boot is the one marker records (recording it when there is none), else "later"."""
    now = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    recorded = (lines(marker) or [""])[0].strip()
    if not recorded:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(now + "\n")
        recorded = now
    return "first" if recorded == now else "later"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy-root", type=Path, default=Path("/sys/fs/cgroup/policy"))
    parser.add_argument("--unit", action="append", default=[])
    parser.add_argument("--boot-marker", type=Path)
    args = parser.parse_args(argv)
    result = view(args.policy_root, args.unit)
    if args.boot_marker:
        result["boot"] = boot(args.boot_marker)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
