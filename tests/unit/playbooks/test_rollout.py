"""playbooks/rollout.yml on simulated hosts (ansible_connection: local, host trees via host_root).

The simulated kernel's semantics run in this process only (a module writing through plain HostIO would just
write files), so the hosts' kernels are reconciled here first and the rollout persists and verifies them.

* batches: the canary alone first, then the waves in the batches serial makes of policy_groups_waves, each
  announced with its hosts; a second rollout changes nothing;
* a canary that fails stops the rollout: no wave starts and the other hosts are left untouched;
* in check mode, a host whose hierarchy the run's kernel role would mount first is reported as pending, and the
  preview goes on to the waves.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / ".cache" / "collections"
sys.path.insert(0, str(REPO / "tests" / "unit"))

from fakekernel import FakeKernel, HostSpec  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._backend_policyfs import PolicyfsBackend  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._model import normalize  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._reconcile import reconcile  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) is None,
                                reason="ansible-playbook not installed next to this interpreter")

DOC: dict[str, Any] = {
    "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
    "policy_groups": [
        {"name": "latency", "swap": {"tiers": ["fast"]}, "thp": "never", "oom_score_adj": -500,
         "members": {"cgroups": ["/system.slice/api.service"]}},
        {"name": "background", "swap": {"tiers": ["slow"]}, "ksm": True},
    ],
}
HOSTS = ("h1", "h2", "h3", "h4")
BATCH = re.compile(r"ROLLOUT BATCH (canary|waves): ([^'\"(\n]+?)\s*(?:\(hosts (\d+)-(\d+) of (\d+)\))?['\"]?$",
                   re.MULTILINE)
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.update(ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
             ANSIBLE_CALLBACK_RESULT_FORMAT="yaml")
    e["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{e.get('PATH', '')}"
    return e


def fleet(tmp_path: Path, mounted: dict[str, bool] | None = None) -> tuple[Path, dict[str, FakeKernel]]:
    kernels: dict[str, FakeKernel] = {}
    hosts: dict[str, dict[str, Any]] = {}
    for name in HOSTS:
        root = tmp_path / name
        kernels[name] = FakeKernel(root, HostSpec(cgroups=("/system.slice", "/system.slice/api.service"),
                                                  swaps=(("/dev/zram0", 150), ("/dev/vdb", 10)),
                                                  mounted=(mounted or {}).get(name, True),
                                                  controller=(mounted or {}).get(name, True)))
        (root / "etc" / "systemd" / "system").mkdir(parents=True)
        if kernels[name].spec.mounted:
            outcome = reconcile(PolicyfsBackend(io=kernels[name]), lambda _a: normalize(DOC),
                                lock_path=str(root / "run" / "lock"))
            assert outcome.failed is None, outcome.error
        hosts[name] = {"ansible_connection": "local", "policy_groups_host_root": str(root)}
    inv = tmp_path / "inv.json"
    inv.write_text(json.dumps({"all": {
        "hosts": hosts,
        "vars": {"ansible_python_interpreter": sys.executable, **DOC},
        "children": {"policy_canary": {"hosts": {"h1": {}}}},
    }}))
    return inv, kernels


def rollout(tmp_path: Path, inv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ansible-playbook", "-i", str(inv), str(REPO / "playbooks" / "rollout.yml"), *args],
                          cwd=tmp_path, env=env(), capture_output=True, text=True, check=False)


def host_files(tmp_path: Path) -> list[str]:
    """Every file of the simulated hosts, but the modules' lock file in run/ (taken in check mode too)."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("h*/**/*")
                  if p.parts[-2:] != ("run", "policygroups.lock"))


def batches(output: str) -> list[tuple[str, list[str]]]:
    return [(m.group(1), [h.strip() for h in m.group(2).split(",")]) for m in BATCH.finditer(output)]


def recap(output: str) -> dict[str, dict[str, int]]:
    return {m.group(1): {"changed": int(m.group(3)), "unreachable": int(m.group(4)), "failed": int(m.group(5))}
            for m in RECAP.finditer(output.split("PLAY RECAP", 1)[-1])}


def test_canary_then_waves_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    inv, _kernels = fleet(tmp_path)
    first = rollout(tmp_path, inv)
    assert first.returncode == 0, first.stdout[-4000:]
    # default waves [1, '30%', '100%'] over the 3 hosts after the canary: 1, max(1, 30% of 3) = 1, the rest
    assert batches(first.stdout) == [("canary", ["h1"]), ("waves", ["h2"]), ("waves", ["h3"]), ("waves", ["h4"])]
    assert "(hosts 2-2 of 3)" in first.stdout
    # the kernels were in shape already: what changes is the persisted policy and its restore unit
    assert all(r["changed"] > 0 and r["failed"] == 0 for r in recap(first.stdout).values()), first.stdout[-4000:]
    for name in HOSTS:
        assert (tmp_path / name / "etc" / "policygroups" / "policy.json").is_file()

    again = rollout(tmp_path, inv, "-e", '{"policy_groups_waves": [2]}')
    assert again.returncode == 0, again.stdout[-4000:]
    assert batches(again.stdout) == [("canary", ["h1"]), ("waves", ["h2", "h3"]), ("waves", ["h4"])]
    assert {h: r["changed"] for h, r in recap(again.stdout).items()} == dict.fromkeys(HOSTS, 0), again.stdout[-4000:]


def test_a_failed_canary_stops_the_rollout(tmp_path: Path) -> None:
    inv, _kernels = fleet(tmp_path, mounted={"h1": False})
    result = rollout(tmp_path, inv)
    assert result.returncode != 0
    assert batches(result.stdout) == [("canary", ["h1"])], result.stdout[-4000:]
    assert "policy groups are not available" in result.stdout
    for name in HOSTS[1:]:
        assert not (tmp_path / name / "etc" / "policygroups").exists(), f"{name} was touched"


def test_check_mode_reports_a_host_without_the_hierarchy_as_pending(tmp_path: Path) -> None:
    inv, _kernels = fleet(tmp_path, mounted={"h1": False})
    before = host_files(tmp_path)
    # --tags policy: the kernel role is not run here (it installs into the controller's /boot), but the policy
    # step knows from policy_kernel_build_dir that this rollout would prepare the hierarchy first
    result = rollout(tmp_path, inv, "--check", "--tags", "policy", "-e", "policy_kernel_build_dir=/nonexistent")
    assert result.returncode == 0, result.stdout[-4000:]
    assert batches(result.stdout) == [("canary", ["h1"]), ("waves", ["h2"]), ("waves", ["h3"]), ("waves", ["h4"])]
    assert "/sys/fs/cgroup/policy is not mounted yet" in result.stdout
    assert result.stdout.count("is not mounted yet") == 1, "only h1 lacks the hierarchy"
    assert host_files(tmp_path) == before
