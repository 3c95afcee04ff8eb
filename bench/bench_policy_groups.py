"""Benchmark: reconcile N groups x 5 policies on one host in one policy_groups call, versus plain ansible.builtin tasks.

Measured, each on a fresh host tree whose N groups exist with every policy at ``inherit`` (so a converge run
writes N x 5 values) and again on the converged tree (a no-op run):

1. engine alone: the module_utils ``reconcile`` call in this process (what the module does on the host);
2. module: ``ansible-playbook`` with one ``policygroups.core.policy_groups`` task against localhost;
3. builtin: a generated playbook with, per group, one ``ansible.builtin.file`` (the group directory) and one
   ``ansible.builtin.copy`` per policy file (N x 6 tasks) - the same end state without the collection;
4. floor: ``ansible-playbook`` with one ``ansible.builtin.ping`` task (Ansible's fixed cost per run).

The host tree is a temporary directory laid out like the policyfs ABI (made by the test suite's simulated
kernel). A plain directory cannot populate a new group's files the way the kernel's mkdir does, so groups are
pre-created and creation is not part of the timed work there. With ``--root /`` on a policy-groups kernel the
module creates groups named ``bench-gNNN`` itself and the builtin playbook writes with ``ansible.builtin.shell``
(``copy`` replaces files by rename, which kernfs does not allow); both remove their groups afterwards.

Not a test: prints times, per-group costs and ratios. ``.venv/bin/python bench/bench_policy_groups.py
[--groups 200] [--root DIR] [--skip-builtin | --builtin-groups 40]``; writes only under ``.cache/bench/policy_groups`` (or --root).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache" / "bench" / "policy_groups"
COLLECTIONS = REPO / ".cache" / "collections"
sys.path.insert(0, str(COLLECTIONS))
sys.path.insert(0, str(REPO / "tests" / "unit"))

from fakekernel import FakeKernel, HostSpec, tiers_of  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import (  # noqa: E402
    POLICY_FILES,
    PolicyfsBackend,
)
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import Outcome, reconcile  # noqa: E402

POLICY_ROOT = "/sys/fs/cgroup/policy"
POLICIES = ("thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback")


def group_items(count: int, prefix: str) -> list[dict[str, Any]]:
    """``count`` top-level groups, each setting the same 5 policies to varied values."""
    return [
        {"name": f"{prefix}g{i:03d}", "thp": ("never", "madvise", "always")[i % 3], "ksm": i % 2 == 0,
         "oom_score_adj": (i * 37) % 2001 - 1000, "swap": {"tiers": ["fast"] if i % 2 else ["slow"]},
         "zswap_writeback": i % 4 != 0}
        for i in range(count)
    ]


def kernel_values(item: dict[str, Any]) -> dict[str, str]:
    """The file contents the builtin playbook writes for one group (what the kernel would print)."""
    return {"thp": item["thp"], "ksm": "1" if item["ksm"] else "0", "oom_score_adj": str(item["oom_score_adj"]),
            "swap_tiers": " ".join(item["swap"]["tiers"]), "zswap_writeback": "1" if item["zswap_writeback"] else "0"}


def fresh_tree(root: Path, items: list[dict[str, Any]]) -> None:
    """A simulated host with tiers fast/slow and every group present, all policies ``inherit``."""
    if root.exists():
        shutil.rmtree(root)
    kernel = FakeKernel(root, HostSpec(initial_tiers=tiers_of([("fast", 100), ("slow", -1)])))
    for item in items:
        kernel.mkdir(f"{POLICY_ROOT}/{item['name']}")


def engine_run(root: str, items: list[dict[str, Any]], purge_prefix: str | None = None) -> tuple[float, Outcome]:
    backend = PolicyfsBackend(root=root)
    lock = os.path.join(root, "run/policygroups.lock") if root != "/" else "/run/policygroups.lock"
    t0 = time.perf_counter()
    outcome = reconcile(backend, lambda _actual: normalize({"policy_groups": items}), lock_path=lock)
    seconds = time.perf_counter() - t0
    if not outcome.ok:
        raise SystemExit(f"engine run failed: {outcome.error or outcome.read_error}")
    return seconds, outcome


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_HOME=str(REPO / ".cache" / "ansible-home"),
             ANSIBLE_LOCAL_TEMP=str(REPO / ".cache" / "ansible-home" / "tmp"), ANSIBLE_NOCOLOR="1",
             ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_PIPELINING="1")
    return e


@dataclass
class PlaybookRun:
    seconds: float
    changed: int


def playbook(path: Path) -> PlaybookRun:
    t0 = time.perf_counter()
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", str(path)],
                          env=env(), capture_output=True, text=True, check=False,
                          executable=str(Path(sys.executable).parent / "ansible-playbook"))
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-2000:])
        raise SystemExit(f"ansible-playbook {path.name} failed with rc={proc.returncode}")
    recap = [line for line in proc.stdout.splitlines() if line.startswith("localhost")][-1]
    changed = int(recap.split("changed=")[1].split()[0])
    return PlaybookRun(seconds, changed)


def yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def module_playbook(path: Path, root: str, items: list[dict[str, Any]]) -> None:
    lines = ["---", "- name: One policy_groups call", "  hosts: localhost", "  gather_facts: false", "  tasks:",
             "    - name: Reconcile all groups", "      policygroups.core.policy_groups:",
             f"        host_root: {yaml_str(root)}", "        groups:"]
    for item in items:
        lines.append(f"          - {{name: {item['name']}, thp: {item['thp']}, ksm: {str(item['ksm']).lower()}, "
                     f"oom_score_adj: {item['oom_score_adj']}, swap: {{tiers: [{item['swap']['tiers'][0]}]}}, "
                     f"zswap_writeback: {str(item['zswap_writeback']).lower()}}}")
    path.write_text("\n".join(lines) + "\n")


def builtin_playbook(path: Path, root: str, items: list[dict[str, Any]], real_kernel: bool) -> None:
    base = os.path.join(root, POLICY_ROOT.lstrip("/"))
    lines = ["---", "- name: The same state with ansible.builtin tasks", "  hosts: localhost", "  gather_facts: false",
             "  tasks:"]
    for item in items:
        directory = f"{base}/{item['name']}"
        lines += [f"    - name: Group {item['name']}", "      ansible.builtin.file:", f"        path: {yaml_str(directory)}",
                  "        state: directory", "        mode: '0755'"]
        for key, value in kernel_values(item).items():
            dest = f"{directory}/{POLICY_FILES[key]}"
            if real_kernel:
                lines += [f"    - name: {item['name']} {key}", "      ansible.builtin.shell:",
                          f"        cmd: {yaml_str(f'test \"$(cat {dest})\" = \"{value}\" || {{ printf %s \"{value}\" > {dest}; echo changed; }}')}",
                          "      register: out", "      changed_when: out.stdout == 'changed'"]
            else:
                lines += [f"    - name: {item['name']} {key}", "      ansible.builtin.copy:",
                          f"        content: {yaml_str(value + chr(10))}", f"        dest: {yaml_str(dest)}",
                          "        mode: '0644'"]
    path.write_text("\n".join(lines) + "\n")


def floor_playbook(path: Path) -> None:
    path.write_text("---\n- name: Floor\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
                    "    - name: One trivial module task\n      ansible.builtin.ping:\n")


def cleanup_real(root: str, prefix: str) -> None:
    backend = PolicyfsBackend(root=root)
    state = backend.read_state()
    doc = {"policy_groups": [{"name": p.rpartition("/")[2], "state": "absent"} for p in state.groups if
                             p.startswith(prefix)]}
    reconcile(backend, lambda _a: normalize(doc), lock_path="/run/policygroups.lock")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--root", default=None, help="host root: default a simulated tree; '/' = this host")
    parser.add_argument("--skip-builtin", action="store_true", help="skip the (slow) ansible.builtin playbook")
    parser.add_argument("--builtin-groups", type=int, default=None,
                        help="run the builtin playbook on the first N groups only and scale its times to --groups "
                             "(its cost is linear: one task per file)")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    real = args.root == "/"
    prefix = "bench-" if real else ""
    root = "/" if real else str(Path(args.root or CACHE / "host").resolve())
    items = group_items(args.groups, prefix)
    writes = args.groups * len(POLICIES)

    def reset() -> None:
        if real:
            cleanup_real(root, prefix)
        else:
            fresh_tree(Path(root), items)

    rows: list[tuple[str, float, float]] = []
    reset()
    converge_s, outcome = engine_run(root, items)
    assert len(outcome.applied) >= writes, len(outcome.applied)
    noop_s, again = engine_run(root, items)
    assert not again.changed
    rows.append(("engine alone (module_utils reconcile)", converge_s, noop_s))

    floor_playbook(CACHE / "floor.yml")
    floor = min(playbook(CACHE / "floor.yml").seconds for _attempt in range(2))

    module_playbook(CACHE / "module.yml", root, items)
    reset()
    first = playbook(CACHE / "module.yml")
    second = playbook(CACHE / "module.yml")
    assert first.changed == 1 and second.changed == 0, (first, second)
    rows.append(("policy_groups module, 1 task", first.seconds, second.seconds))

    builtin_n = min(args.builtin_groups or args.groups, args.groups)
    if not args.skip_builtin:
        subset = items[:builtin_n]
        builtin_playbook(CACHE / "builtin.yml", root, subset, real)
        reset()
        if real:
            engine_run(root, [{"name": i["name"]} for i in subset])  # the builtin play cannot mkdir a group twice safely
        first_b = playbook(CACHE / "builtin.yml")
        second_b = playbook(CACHE / "builtin.yml")
        assert second_b.changed == 0, second_b
        scale = args.groups / builtin_n
        label = f"ansible.builtin, {args.groups * 6} tasks"
        if builtin_n != args.groups:
            # Ansible's fixed per-run cost is not scaled, only the per-task part
            first_s = floor + (first_b.seconds - floor) * scale
            second_s = floor + (second_b.seconds - floor) * scale
            label += f" (*{builtin_n} measured)"
        else:
            first_s, second_s = first_b.seconds, second_b.seconds
        rows.append((label, first_s, second_s))
    if real:
        cleanup_real(root, prefix)

    print(f"{args.groups} groups x {len(POLICIES)} policies on {'this host' if real else 'a simulated host tree'} "
          f"({writes} values written by a converge run); ansible-playbook floor (1 ping task): {floor:.2f} s")
    print(f"  {'':<40} {'converge s':>10} {'no-op s':>8} {'ms/group':>9} {'no-op ms/group':>15}")
    for name, conv, noop in rows:
        print(f"  {name:<40} {conv:10.3f} {noop:8.3f} {conv / args.groups * 1000:9.2f} {noop / args.groups * 1000:15.2f}")
    if not args.skip_builtin:
        module_row, builtin_row = rows[1], rows[2]
        print(f"  ratio builtin / module: converge {builtin_row[1] / module_row[1]:.1f}x, no-op {builtin_row[2] / module_row[2]:.1f}x;"
              f" above the floor: converge {(builtin_row[1] - floor) / max(module_row[1] - floor, 1e-3):.1f}x,"
              f" no-op {(builtin_row[2] - floor) / max(module_row[2] - floor, 1e-3):.1f}x")
    print(f"  module task above the floor: converge {rows[1][1] - floor:.2f} s, no-op {rows[1][2] - floor:.2f} s")
    if not args.skip_builtin and builtin_n != args.groups:
        print(f"  * builtin playbook run on {builtin_n} groups ({builtin_n * 6} tasks); its time above the floor "
              f"scaled by {args.groups}/{builtin_n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
