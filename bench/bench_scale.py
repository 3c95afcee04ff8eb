"""Benchmark the scale of the engine and of the offline render (no VM, no root, no host contacted).

1. Engine: the module_utils ``reconcile`` call in this process, in check mode, for ``--groups`` groups (default
   10,000; a third are children of the group before them, each group binds one cgroup and sets six policies) on
   a simulated host laid out like the policyfs ABI (the unit tests' simulated kernel, used through plain file
   operations). Three hosts: fresh (no group yet: every group is planned for creation), converged (nothing to
   change: what a drift audit of a converged host costs) and replaced (every group on the host has another name:
   purge plans 10,000 removals next to 10,000 creations).
2. Render: ``playbooks/render.yml`` for ``--render-hosts`` inventory hosts (default 1,000) of the same fleet
   document (50 groups), each with its cached facts in inventory; the hosts' addresses answer nothing, the
   playbook never connects.

Simulated hosts live under /dev/shm when it exists (memory, like sysfs), else under ``.cache/bench/scale``; they
are kept between runs (the converged 10,000-group host takes about 20 s to lay out). Prints wall and CPU
seconds; not pass/fail.

    .venv/bin/python bench/bench_scale.py [--groups 10000] [--render-hosts 1000] [--repeat 3] [--only engine|render]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bench" / "scale"
COLLECTIONS = REPO / ".cache" / "collections"
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(REPO / "tests" / "unit"))

from fakekernel import FakeKernel, HostSpec, tiers_of  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import desired_groups  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import reconcile  # noqa: E402

TIERS = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
RENDER_GROUPS = 50
FACTS = {"backend": "policyfs", "available": True, "abi_version": 1, "kernel_release": "6.12.0-policy",
         "features": ["thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "bind"],
         "swap_devices": [{"path": "/dev/zram0", "priority": 150}, {"path": "/dev/vdb", "priority": 10}],
         "numa_nodes": [0, 1]}


def fleet(groups: int, prefix: str = "g") -> dict[str, Any]:
    """A fleet document of ``groups`` groups: a third are children of the group before them, each binds one
    cgroup and sets thp, ksm, oom_score_adj, swap tiers and zswap_writeback."""
    items = []
    for i in range(groups):
        item: dict[str, Any] = {
            "name": f"{prefix}{i:05d}", "thp": ("never", "madvise", "always")[i % 3], "ksm": i % 2 == 0,
            "oom_score_adj": (i * 37) % 2001 - 1000, "swap": {"tiers": ["fast"] if i % 2 else ["slow"]},
            "zswap_writeback": i % 4 != 0, "members": {"cgroups": [f"/bench.slice/g{i:05d}.service"]}}
        if i % 3 == 2:
            item["parent"] = f"{prefix}{i - 1:05d}"
        items.append(item)
    return {"policy_swap_tiers": TIERS, "policy_groups": items}


def host_base() -> Path:
    shm = Path("/dev/shm")
    return shm / f"policygroups-bench-{os.getuid()}" if shm.is_dir() and os.access(shm, os.W_OK) else CACHE / "hosts"


def simulated_host(root: Path, doc: dict[str, Any], converged: bool) -> None:
    """A host tree with tiers fast/slow and the cgroups the fleet binds; with ``converged``, its groups too
    (laid out directly as the check-mode projection of a converge run: applying 10,000 groups through the
    simulated kernel's checked writes would take hours)."""
    stamp = root / "bench-layout.json"
    want = json.dumps({"groups": len(doc["policy_groups"]), "converged": converged})
    if stamp.exists() and stamp.read_text() == want:
        return
    if root.exists():
        shutil.rmtree(root)
    cgroups = ("/bench.slice",) + tuple(g["members"]["cgroups"][0] for g in doc["policy_groups"])
    kernel = FakeKernel(root, HostSpec(cgroups=cgroups, initial_tiers=tiers_of([("fast", 100), ("slow", -1)])))
    if converged:
        outcome = reconcile(PolicyfsBackend(io=kernel), lambda _actual: normalize(doc), check_mode=True,
                            lock_path=str(root / "run" / "lock"))
        after = outcome.after
        kernel.lay_out(after.tiers or (), ((p, dict(g.policies), g.bindings) for p, g in after.groups.items()))
    stamp.write_text(want)


@dataclass
class Timing:
    wall: float
    cpu: float
    operations: int


def engine_check(root: Path, doc: dict[str, Any], purge: bool) -> Timing:
    """One check-mode run as the policy_groups module makes it (module result included)."""
    backend = PolicyfsBackend(root=str(root))
    wall0, cpu0 = time.perf_counter(), time.process_time()
    outcome = reconcile(backend, desired_groups(doc["policy_groups"]), purge=purge, check_mode=True,
                        lock_path=str(root / "run" / "lock"))
    outcome.result()
    timing = Timing(time.perf_counter() - wall0, time.process_time() - cpu0, len(outcome.operations))
    if not outcome.ok:
        raise SystemExit(f"engine run failed: {outcome.error or outcome.read_error}")
    return timing


def median(timings: list[Timing]) -> Timing:
    return Timing(statistics.median(t.wall for t in timings), statistics.median(t.cpu for t in timings),
                  timings[-1].operations)


def bench_engine(groups: int, repeat: int) -> dict[str, Timing]:
    doc = fleet(groups)
    base = host_base()
    cases = {
        "fresh": (base / f"fresh-{groups}", doc, False, False),
        "converged": (base / f"converged-{groups}", doc, True, False),
        "replaced (purge)": (base / f"converged-{groups}", fleet(groups, prefix="n"), True, True),
    }
    print(f"engine, check mode, {groups} groups (simulated host under {base}; median of {repeat})", flush=True)
    print(f"  {'host':<18} {'wall s':>7} {'cpu s':>7} {'operations':>11}")
    out: dict[str, Timing] = {}
    for name, (root, document, converged, purge) in cases.items():
        laid = time.perf_counter()
        simulated_host(root, doc, converged)
        laid = time.perf_counter() - laid
        timing = median([engine_check(root, document, purge) for _attempt in range(repeat)])
        out[name] = timing
        note = f"  (host laid out in {laid:.0f} s)" if laid > 1 else ""
        print(f"  {name:<18} {timing.wall:7.2f} {timing.cpu:7.2f} {timing.operations:11d}{note}", flush=True)
    return out


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(REPO / ".cache" / "ansible-home"),
               ANSIBLE_LOCAL_TEMP=str(REPO / ".cache" / "ansible-home" / "tmp"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def bench_render(hosts: int, repeat: int, forks: int) -> float:
    """Seconds for playbooks/render.yml over ``hosts`` hosts (median of ``repeat``; the output directory is
    emptied before each run, so every run writes first plans)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    inventory = CACHE / f"render-{hosts}.json"
    unreachable = {"ansible_connection": "ssh", "ansible_host": "192.0.2.1", "ansible_user": "nobody"}
    inventory.write_text(json.dumps({"all": {
        "hosts": {f"host{i:04d}": {**unreachable, "policy_groups_facts": FACTS} for i in range(hosts)},
        "vars": {"ansible_python_interpreter": sys.executable, **fleet(RENDER_GROUPS)}}}))
    out = CACHE / "rendered"
    times = []
    for _attempt in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "render.yml"),
                               "-e", f"policy_groups_render_dir={out}", "--forks", str(forks)],
                              cwd=CACHE, env=ansible_env(), capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - start)
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-2000:])
            raise SystemExit(f"render.yml failed with {proc.returncode}")
        written = len(list(out.glob("host*.yml")))
        if written != hosts:
            raise SystemExit(f"render.yml wrote {written} host plans, expected {hosts}")
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument("--groups", type=int, default=10_000, help="groups for the engine run")
    parser.add_argument("--render-hosts", type=int, default=1_000, help="inventory hosts for render.yml")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--forks", type=int, default=8, help="forks of render.yml")
    parser.add_argument("--only", choices=("engine", "render"))
    args = parser.parse_args()
    if args.only != "render":
        bench_engine(args.groups, args.repeat)
    if args.only != "engine":
        seconds = bench_render(args.render_hosts, max(1, args.repeat // 3), args.forks)
        print(f"render.yml, {args.render_hosts} hosts x {RENDER_GROUPS} groups, offline: {seconds:.1f} s "
              f"({seconds / args.render_hosts * 1000:.0f} ms/host)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
