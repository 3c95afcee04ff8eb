"""Benchmark the operator's cycle on simulated hosts (no VM, no root kernel needed). One run prints:

1. Task runs per host: the ``policy_groups`` role and the whole ``playbooks/rollout.yml`` on a converged host
   (a simulated host tree laid out like the policyfs ABI, used through the modules' ``host_root``): the tasks
   that ran for the host (ok or changed, not skipped), and of those the ones that ran a module on the host.
2. The role's no-op run against Ansible's floor: a play of ONE trivial task (``ansible.builtin.ping``) on the same
   host with the same settings, and, as before, a play of as many trivial tasks as ran in the role. The role's runs
   (with and without a fact cache) and the floors' run in turn, ``--repeat`` times, medians; ``--noop-only`` runs
   this part alone.
3. Drift audit cost per host: ``playbooks/drift.yml --check`` over N inventory aliases of this machine
   (``ansible_connection: local``), each with its own converged simulated host (copies of one converged and
   persisted host); the table and a plot (``--plot``, default ``.cache/bench/role/drift-per-host.png``).
4. Engine and render scale (``bench/bench_scale.py``): the engine in check mode for ``--engine-groups`` groups,
   ``playbooks/render.yml`` for ``--render-hosts`` hosts.

Prints tables; writes nothing outside ``.cache/bench`` (and /dev/shm for the engine's simulated hosts). Run
through ``make bench`` or directly with the project venv:
``.venv/bin/python bench/bench_role.py [--groups 50] [--hosts 16,64,256] [--repeat 1] [--skip-scale] [--noop-only]``.
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

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import reconcile  # noqa: E402

sys.path.insert(0, str(REPO / "bench"))
import bench_scale  # noqa: E402

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


# A persistent fact cache, as an operator's configuration or AWX keeps one: the role's converge renders against the
# host's cached policy_groups_facts and reaches a host whose facts are current in one module run.
FACT_CACHE = CACHE / "facts"


def env(fact_cache: bool = True) -> dict[str, str]:
    e = dict(os.environ)
    e.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(REPO / ".cache" / "ansible-home"),
             ANSIBLE_LOCAL_TEMP=str(REPO / ".cache" / "ansible-home" / "tmp"), ANSIBLE_NOCOLOR="1",
             ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1")
    if fact_cache:
        e.update(ANSIBLE_CACHE_PLUGIN="ansible.builtin.jsonfile", ANSIBLE_CACHE_PLUGIN_CONNECTION=str(FACT_CACHE))
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    return e


@dataclass
class Run:
    seconds: float
    recap: dict[str, dict[str, int]]
    output: str
    rc: int


def playbook(args: list[str], check_rc: bool = True, fact_cache: bool = True) -> Run:
    t0 = time.perf_counter()
    proc = subprocess.run(["ansible-playbook", *args], cwd=CACHE, env=env(fact_cache), capture_output=True, text=True,
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


def median_run(args: list[str], repeat: int, fact_cache: bool = True) -> tuple[float, Run]:
    runs = [playbook(args, fact_cache=fact_cache) for _attempt in range(repeat)]
    return statistics.median(r.seconds for r in runs), runs[-1]


def interleaved(plays: list[tuple[list[str], bool]], repeat: int) -> list[float]:
    """The median wall seconds of each of ``plays`` (arguments, fact cache), run in turn ``repeat`` times."""
    seconds: list[list[float]] = [[] for _play in plays]
    for _attempt in range(repeat):
        for times, (args, fact_cache) in zip(seconds, plays):
            times.append(playbook(args, fact_cache=fact_cache).seconds)
    return [statistics.median(times) for times in seconds]


RESULT = re.compile(r"^(ok|changed|failed|fatal): \[([^\]\s]+)(?: -> (\S+))?\]", re.M)


def task_runs(output: str, host: str) -> tuple[int, int]:
    """(tasks that ran for ``host``, of those the ones whose result came from a module run on the host), from
    the default callback's output: a task counts once however many loop items it has. A task runs on the host
    unless it is delegated (``host -> localhost``) or controller-only (set_fact, assert, debug, ...; recognised by
    the names of this collection's tasks and of the floor's)."""
    ran = on_host = 0
    for block in output.split("\nTASK [")[1:]:
        header, _sep, body = block.partition("\n")
        hits = [m for m in RESULT.finditer(body) if m.group(2) == host]
        if not hits:
            continue
        ran += 1
        name = header.split("]")[0]
        delegated = all(m.group(3) not in (None, host) for m in hits)
        if not delegated and not CONTROLLER_TASK.search(name):
            on_host += 1
    return ran, on_host


MODULE_RUNS = re.compile(r'"module_runs": (\d+)')


def module_runs(args: list[str], fact_cache: bool) -> int:
    """Module runs on the host of the role's converge task (its ``module_runs``), from a verbose run of ``args``."""
    found = MODULE_RUNS.findall(playbook([*args, "-v"], fact_cache=fact_cache).output)
    return int(found[-1]) if found else 0


CONTROLLER_TASK = re.compile(r"Render|Validate|Compute|Keep the host facts|Publish|Announce|Report|Record|Stop here|"
                             r"Refuse|Trivial controller|Aggregate|Summarise|the rendered policy is in effect")


def copy_host(template: Path, root: Path) -> None:
    """A converged, persisted simulated host made by copying ``template`` (plain files: the modules use them
    through plain file operations); each host keeps its own tree."""
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(template, root, symlinks=True)


def rollout_inventory(path: Path, roots: dict[str, Path], doc: dict[str, Any]) -> None:
    inventory = {"all": {"hosts": {h: {"policy_groups_host_root": str(r)} for h, r in roots.items()},
                         "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                                  "policy_groups_persist_path": "/etc/policygroups/policy.json", **doc},
                         "children": {"policy_canary": {"hosts": {next(iter(roots)): {}}}}}}
    path.write_text(json.dumps(inventory, indent=1))


def plot(rows: list[tuple[int, float, str]], path: Path, title: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("  (no plot: matplotlib is not installed; make setup installs it)")
        return
    hosts = [r[0] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(hosts, [r[1] for r in rows], marker="o")
    left.set_xlabel("hosts")
    left.set_ylabel("drift audit wall time (s)")
    left.set_xlim(left=0)  # linear: a straight line through the origin is a flat cost per host
    left.set_ylim(bottom=0)
    left.grid(True, alpha=0.3)
    right.plot(hosts, [r[1] / r[0] for r in rows], marker="o", color="tab:orange")
    right.set_xlabel("hosts")
    right.set_ylabel("seconds per host")
    right.set_xscale("log", base=2)
    right.set_ylim(bottom=0)
    right.grid(True, alpha=0.3)
    for axis in (left, right):
        axis.set_xticks(hosts, [str(h) for h in hosts])
        axis.minorticks_off()
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    print(f"  plot: {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--hosts", default="16,64,256", help="host counts for the drift audit")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--forks", type=int, default=8)
    parser.add_argument("--plot", type=Path, default=CACHE / "drift-per-host.png")
    parser.add_argument("--engine-groups", type=int, default=10_000)
    parser.add_argument("--render-hosts", type=int, default=1_000)
    parser.add_argument("--skip-scale", action="store_true", help="without the engine and render measurements")
    parser.add_argument("--noop-only", action="store_true",
                        help="only the role's no-op run against the floors (no rollout, drift audit or scale)")
    args = parser.parse_args()
    started = time.perf_counter()
    host_counts = sorted({int(n) for n in args.hosts.split(",")})
    CACHE.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(CACHE / "hosts", ignore_errors=True)  # simulated hosts of an earlier run may hold another fleet
    doc = fleet(args.groups)
    load = os.getloadavg()[0]

    # 1. the role on a converged host: no-op run, task runs, floors
    template = CACHE / "hosts" / "template"
    make_host(template, doc)
    write_inventory(CACHE / "one.json", ["bench-000"], {"bench-000": template}, doc)
    role_play(CACHE / "role.yml")
    shutil.rmtree(FACT_CACHE, ignore_errors=True)
    first = playbook(["-i", "one.json", "role.yml"])  # installs the persisted files and restore engine; caches facts
    noop_run = playbook(["-i", "one.json", "role.yml"])  # what ran: the floors get as many tasks
    changed = noop_run.recap["bench-000"]["changed"]
    role_runs, role_on_host = task_runs(noop_run.output, "bench-000")
    modules, controller = task_kinds(noop_run.output)
    floor_play(CACHE / "floor.yml", modules, controller)
    floor_play(CACHE / "floor1.yml", 1, 0)
    # the four runs in turn, each --repeat times: a load that comes and goes weighs on all of them alike
    noop, noop_cold, floor, floor1 = interleaved([(["-i", "one.json", "role.yml"], True),
                                                  (["-i", "one.json", "role.yml"], False),
                                                  (["-i", "one.json", "floor.yml"], True),
                                                  (["-i", "one.json", "floor1.yml"], True)], args.repeat)
    converge_runs = module_runs(["-i", "one.json", "role.yml"], True)
    converge_runs_cold = module_runs(["-i", "one.json", "role.yml"], False)

    # the whole rollout play on converged hosts (a canary and one wave)
    roots = {f"bench-{i:03d}": CACHE / "hosts" / f"r{i:03d}" for i in range(0 if args.noop_only else 2)}
    for root in roots.values():
        copy_host(template, root)
    if roots:
        rollout_inventory(CACHE / "rollout.json", roots, doc)
    rollout_run = playbook(["-i", "rollout.json", str(REPO / "playbooks" / "rollout.yml")]) if roots else None
    rollout_changed = sum(r["changed"] for r in rollout_run.recap.values()) if rollout_run else 0
    rollout_runs = {h: task_runs(rollout_run.output, h) for h in roots} if rollout_run else {}

    print(f"machine: {os.cpu_count()} cores, load average {load:.1f} at the start")
    print(f"policy_groups role, {args.groups} groups on one converged simulated host (median of {args.repeat}; "
          f"first converge {first.seconds:.1f}s)")
    print(f"  {'run':<48} {'wall s':>7} {'task runs':>10} {'on host':>8}")
    print(f"  {'role, no-op (changed=' + str(changed) + ')':<48} {noop:7.2f} {role_runs:10d} {role_on_host:8d}")
    print(f"  {'role, no-op, without a fact cache':<48} {noop_cold:7.2f} {role_runs:10d} {role_on_host:8d}")
    print(f"  {'floor: one ping task':<48} {floor1:7.2f} {1:10d} {1:8d}")
    print(f"  {'floor: ' + str(modules) + ' x ping + ' + str(controller) + ' x set_fact':<48} {floor:7.2f} "
          f"{modules + controller:10d} {modules:8d}")
    print(f"  ratio role / one-task floor: {noop / floor1:.2f} (without a fact cache {noop_cold / floor1:.2f})   "
          f"role / same-task-count floor: {noop / floor:.2f}")
    print(f"  module runs of the converge task on the host: {converge_runs} with the host's facts cached, "
          f"{converge_runs_cold} without")
    for host, (ran, on_host) in rollout_runs.items():
        print(f"  rollout.yml, converged host {host}: {ran} task runs per host, {on_host} on the host "
              f"({rollout_run.seconds if rollout_run else 0:.1f} s for both hosts, changed={rollout_changed})")
    if not args.noop_only:
        print()
        print(f"drift audit (playbooks/drift.yml --check, forks={args.forks}, median of {args.repeat})")
        print(f"  {'hosts':>5} {'wall s':>7} {'s/host':>7} {'marginal s/host':>16}  status", flush=True)

    # 2. drift audit over growing numbers of hosts (copies of the converged, persisted host)
    drift_rows: list[tuple[int, float, str]] = []
    for count in [] if args.noop_only else host_counts:
        names = [f"bench-{i:03d}" for i in range(count)]
        hosts = {}
        for i, name in enumerate(names):
            hosts[name] = CACHE / "hosts" / f"h{i:03d}"
            if not hosts[name].exists():
                copy_host(template, hosts[name])
        write_inventory(CACHE / f"fleet-{count}.json", names, hosts, doc)
        seconds = median_run(["-i", f"fleet-{count}.json", str(REPO / "playbooks" / "drift.yml"), "--check",
                              "--forks", str(args.forks), "-e", f"policy_groups_report_dir={CACHE / 'report'}",
                              "-e", "policy_groups_persist_path=/etc/policygroups/policy.json"],
                             args.repeat)[0]
        report = json.loads((CACHE / "report" / "drift.json").read_text())
        status = report["summary"]["status"]
        marginal = ""
        if drift_rows:
            n0, s0 = drift_rows[-1][:2]
            marginal = f"{(seconds - s0) / (count - n0):.2f}"
        drift_rows.append((count, seconds, status))
        print(f"  {count:5d} {seconds:7.2f} {seconds / count:7.2f} {marginal:>16}  {status}", flush=True)
    if len(drift_rows) >= 2:
        n0, s0 = drift_rows[0][:2]
        n1, s1 = drift_rows[-1][:2]
        print(f"  marginal cost per added host ({n0}->{n1} hosts): {(s1 - s0) / (n1 - n0):.2f} s")
        plot(drift_rows, args.plot, f"drift audit, {args.groups} groups per host, forks={args.forks}, "
             f"{os.cpu_count()} cores")

    # 3. engine and render scale
    if not args.skip_scale and not args.noop_only:
        print()
        bench_scale.bench_engine(args.engine_groups, 3)
        seconds = bench_scale.bench_render(args.render_hosts, 1, args.forks)
        print(f"render.yml, {args.render_hosts} hosts x {bench_scale.RENDER_GROUPS} groups, offline: {seconds:.1f} s "
              f"({seconds / args.render_hosts * 1000:.0f} ms/host)")
    print(f"\nbench_role.py took {time.perf_counter() - started:.0f} s")
    return 0 if changed == 0 and rollout_changed == 0 and all(r[2] == "in_sync" for r in drift_rows) else 1


if __name__ == "__main__":
    sys.exit(main())
