"""Benchmark the policy_groups role and the drift audit on simulated hosts (no VM, no root kernel needed).

1. No-op run: a host already converged to a fleet of ``--groups`` policy groups (a simulated host tree laid out
   like the policyfs ABI, used through the modules' ``host_root``) runs the role; the wall time is compared with
   Ansible's floor: a play of the same number of trivial tasks (``ansible.builtin.ping`` for each task that ran a
   module on the host, ``ansible.builtin.set_fact`` for each controller-only task), same host, same settings.
2. Drift check: ``playbooks/drift.yml`` in check mode over 1..N inventory aliases of the local machine
   (``ansible_connection: local``), each with its own simulated host; the per-host cost is the slope.

Prints a small table; writes nothing outside ``.cache/bench``. Run through ``make bench`` or directly with the
project venv: ``.venv/bin/python bench/bench_role.py [--groups 50] [--hosts 1,4,8,16] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bench" / "role"
COLLECTIONS = REPO / ".cache" / "collections"
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(REPO / "tests" / "unit"))

from fakekernel import FakeKernel, HostSpec  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._backend_policyfs import PolicyfsBackend  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._model import normalize  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._reconcile import reconcile  # noqa: E402

RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")
CONTROLLER_ONLY = ("set_fact", "assert", "debug", "fail", "include_role", "import_tasks", "validate")


def fleet(groups: int) -> dict[str, Any]:
    """A fleet document of ``groups`` groups: a third are children, each group binds one cgroup."""
    items = []
    for i in range(groups):
        item: dict[str, Any] = {
            "name": f"g{i:03d}", "thp": ("never", "madvise", "always")[i % 3], "ksm": i % 2 == 0,
            "oom_score_adj": (i * 37) % 2001 - 1000, "swap": {"tiers": ["fast"] if i % 2 else ["slow"]},
            "zswap_writeback": i % 4 != 0, "members": {"cgroups": [f"/bench.slice/g{i:03d}.service"]}}
        if i % 3 == 2:
            item["parent"] = f"g{i - 1:03d}"
        items.append(item)
    return {"policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
            "policy_groups": items}


def make_host(root: Path, doc: dict[str, Any]) -> None:
    """A simulated host converged to ``doc`` (the kernel side simulated by the test suite's FakeKernel)."""
    if root.exists():
        shutil.rmtree(root)
    cgroups = ("/bench.slice",) + tuple(g["members"]["cgroups"][0] for g in doc["policy_groups"])
    kernel = FakeKernel(root, HostSpec(cgroups=cgroups, swaps=(("/dev/zram0", 150), ("/dev/vdb", 10))))
    (root / "etc" / "systemd" / "system").mkdir(parents=True, exist_ok=True)
    outcome = reconcile(PolicyfsBackend(io=kernel), lambda _a: normalize(doc), lock_path=str(root / "run" / "lock"))
    if outcome.failed is not None:
        raise SystemExit(f"cannot converge the simulated host: {outcome.error}")


def write_inventory(path: Path, hosts: list[str], roots: dict[str, Path], doc: dict[str, Any]) -> None:
    inventory = {"all": {"hosts": {h: {"policy_groups_host_root": str(roots[h])} for h in hosts},
                         "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                  **doc}}}
    path.write_text(json.dumps(inventory, indent=1))


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(REPO / ".cache" / "ansible-home"),
             ANSIBLE_LOCAL_TEMP=str(REPO / ".cache" / "ansible-home" / "tmp"), ANSIBLE_NOCOLOR="1",
             ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1")
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    return e


@dataclass
class Run:
    seconds: float
    recap: dict[str, dict[str, int]]
    output: str
    rc: int


def playbook(args: list[str], check_rc: bool = True) -> Run:
    t0 = time.perf_counter()
    proc = subprocess.run(["ansible-playbook", *args], cwd=CACHE, env=env(), capture_output=True, text=True,
                          check=False)
    seconds = time.perf_counter() - t0
    recap = {}
    for line in proc.stdout.splitlines():
        m = RECAP.match(line)
        if m:
            keys = ("ok", "changed", "unreachable", "failed", "skipped")
            recap[m.group(1)] = dict(zip(keys, map(int, m.groups()[1:])))
    if check_rc and proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
        raise SystemExit(f"ansible-playbook {' '.join(args)} failed with {proc.returncode}")
    return Run(seconds, recap, proc.stdout, proc.returncode)


def role_play(path: Path) -> None:
    path.write_text("""---
- name: Policy groups role
  hosts: all
  gather_facts: false
  vars:
    policy_groups_persist_path: /etc/policygroups/policy.json
  roles:
    - policygroups.core.policy_groups
""")


def task_kinds(output: str) -> tuple[int, int]:
    """(module tasks, controller-only tasks) that ran (not skipped), from the default callback's output."""
    module = controller = 0
    for block in output.split("\nTASK [")[1:]:
        header, body = block.split("\n", 1) if "\n" in block else (block, "")
        if not re.search(r"^(ok|changed): ", body, re.M):
            continue
        name = header.split("]")[0]
        if "Render" in name or "Validate" in name or "Compute" in name or "Keep the host facts" in name:
            controller += 1
        else:
            module += 1
    return module, controller


def floor_play(path: Path, module_tasks: int, controller_tasks: int) -> None:
    tasks = [f"    - name: Trivial module task {i}\n      ansible.builtin.ping:\n" for i in range(module_tasks)]
    tasks += [f"    - name: Trivial controller task {i}\n      ansible.builtin.set_fact:\n        x{i}: {i}\n"
              for i in range(controller_tasks)]
    path.write_text("---\n- name: Ansible floor\n  hosts: all\n  gather_facts: false\n  tasks:\n" + "".join(tasks))


def median_run(args: list[str], repeat: int) -> tuple[float, Run]:
    runs = [playbook(args) for _attempt in range(repeat)]
    return statistics.median(r.seconds for r in runs), runs[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--hosts", default="1,4,8,16", help="host counts for the drift check")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--forks", type=int, default=8)
    args = parser.parse_args()
    host_counts = sorted({int(n) for n in args.hosts.split(",")})
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(CACHE / "hosts", ignore_errors=True)  # simulated hosts of an earlier run may hold another fleet
    doc = fleet(args.groups)

    # 1. no-op run of the role on a converged host vs the floor
    root = CACHE / "hosts" / "h000"
    make_host(root, doc)
    write_inventory(CACHE / "one.json", ["bench-000"], {"bench-000": root}, doc)
    role_play(CACHE / "role.yml")
    first = playbook(["-i", "one.json", "role.yml"])  # installs the persisted files and restore engine
    noop, noop_run = median_run(["-i", "one.json", "role.yml"], args.repeat)
    changed = noop_run.recap["bench-000"]["changed"]
    modules, controller = task_kinds(noop_run.output)
    floor_play(CACHE / "floor.yml", modules, controller)
    floor = median_run(["-i", "one.json", "floor.yml"], args.repeat)[0]

    print(f"policy_groups role, {args.groups} groups on one converged simulated host (median of {args.repeat}; "
          f"first converge {first.seconds:.1f}s)")
    print(f"  {'run':<44} {'wall s':>7} {'tasks':>6}")
    print(f"  {'role, no-op (changed=' + str(changed) + ')':<44} {noop:7.2f} {modules + controller:6d}")
    print(f"  {'floor: ' + str(modules) + ' x ping + ' + str(controller) + ' x set_fact':<44} {floor:7.2f} "
          f"{modules + controller:6d}")
    print(f"  ratio role / floor: {noop / floor:.2f}")
    print()
    print(f"drift check (playbooks/drift.yml --check, forks={args.forks}, median of {args.repeat})")
    print(f"  {'hosts':>5} {'wall s':>7} {'s/host':>7}  status", flush=True)

    # 2. drift check over growing numbers of hosts (each its own converged simulated host)
    drift_rows = []
    for count in host_counts:
        names = [f"bench-{i:03d}" for i in range(count)]
        roots = {}
        for i, name in enumerate(names):
            roots[name] = CACHE / "hosts" / f"h{i:03d}"
            if not roots[name].exists():
                make_host(roots[name], doc)
        write_inventory(CACHE / f"fleet-{count}.json", names, roots, doc)
        playbook(["-i", f"fleet-{count}.json", "role.yml", "--forks", str(args.forks)])  # persist on every host
        seconds = median_run(["-i", f"fleet-{count}.json", str(REPO / "playbooks" / "drift.yml"), "--check",
                              "--forks", str(args.forks), "-e", f"policy_groups_report_dir={CACHE / 'report'}"],
                             args.repeat)[0]
        report = json.loads((CACHE / "report" / "drift.json").read_text())
        drift_rows.append((count, seconds, report["summary"]["status"]))
        print(f"  {count:5d} {seconds:7.2f} {seconds / count:7.2f}  {report['summary']['status']}", flush=True)
    if len(drift_rows) >= 2:
        n0, s0 = drift_rows[0][:2]
        n1, s1 = drift_rows[-1][:2]
        print(f"  marginal cost per host ({n0}->{n1} hosts): {(s1 - s0) / (n1 - n0):.2f} s")
    return 0 if changed == 0 and all(r[2] == "in_sync" for r in drift_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
