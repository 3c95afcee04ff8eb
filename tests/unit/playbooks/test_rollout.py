"""playbooks/rollout.yml on simulated hosts (ansible_connection: local, host trees via host_root).

The simulated kernel's semantics run in this process only (a module writing through plain HostIO would just
write files), so the hosts' kernels are reconciled here first and the rollout persists and verifies them.

* batches: the canary alone first, then the waves in the batches serial makes of policy_groups_waves, each
  announced with its hosts; a second rollout changes nothing;
* a canary that fails stops the rollout: no wave starts and the other hosts are left untouched;
* --tags policy runs the whole policy step (the role's steps all run under the playbook's own tag);
* a host whose variables the role refuses fails before any host of its batch changes;
* in check mode, a host whose hierarchy the run's policy_kernel role would mount first is reported as pending, and the
  preview goes on to the waves.
"""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakekernel import FakeKernel  # noqa: E402
import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

DOC = sim.fleet_document(sim.LATENCY, sim.BACKGROUND)
HOSTS = ("h1", "h2", "h3", "h4")
BATCH = re.compile(r"ROLLOUT BATCH (canary|waves): ([^'\"(\n]+?)\s*(?:\(hosts (\d+)-(\d+) of (\d+)\))?['\"]?$",
                   re.MULTILINE)


def fleet(tmp_path: Path, mounted: dict[str, bool] | None = None,
          host_vars: dict[str, dict[str, object]] | None = None) -> tuple[Path, dict[str, FakeKernel]]:
    """The four hosts, h1 the canary. A host ``mounted`` maps to False has neither the policy controller nor its
    hierarchy (the reference kernel is not installed yet); the others hold the document in their kernel already.
    ``host_vars``: more variables of some hosts."""
    kernels: dict[str, FakeKernel] = {}
    for name in HOSTS:
        up = (mounted or {}).get(name, True)
        spec = dataclasses.replace(sim.SERVICE_HOST, mounted=up, controller=up)
        kernels[name] = sim.simulated_host(tmp_path / name, spec, converged_to=DOC if up else None)
    inv = sim.write_inventory(tmp_path / "inv.json", {name: {**sim.local_host(tmp_path / name),
                                                             **(host_vars or {}).get(name, {})} for name in HOSTS}, DOC,
                              children={"policy_canary": {"hosts": {"h1": {}}}})
    return inv, kernels


def rollout(tmp_path: Path, inv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return sim.ansible_playbook(tmp_path, "-i", str(inv), str(sim.REPO / "playbooks" / "rollout.yml"), *args,
                                env=sim.ansible_env(ANSIBLE_CALLBACK_RESULT_FORMAT="yaml"))


def batches(output: str) -> list[tuple[str, list[str]]]:
    return [(m.group(1), [h.strip() for h in m.group(2).split(",")]) for m in BATCH.finditer(output)]


def test_canary_then_waves_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    inv, _kernels = fleet(tmp_path)
    first = rollout(tmp_path, inv)
    assert first.returncode == 0, first.stdout[-4000:]
    # default waves [1, '30%', '100%'] over the 3 hosts after the canary: 1, max(1, 30% of 3) = 1, the rest
    assert batches(first.stdout) == [("canary", ["h1"]), ("waves", ["h2"]), ("waves", ["h3"]), ("waves", ["h4"])]
    assert "(hosts 2-2 of 3)" in first.stdout
    # the kernels were in shape already: what changes is the persisted policy and its restore unit
    assert all(r["changed"] > 0 and r["failed"] == 0 for r in sim.recap(first.stdout).values()), first.stdout[-4000:]
    for name in HOSTS:
        assert (tmp_path / name / "etc" / "policygroups" / "policy.json").is_file()

    again = rollout(tmp_path, inv, "-e", '{"policy_groups_waves": [2]}')
    assert again.returncode == 0, again.stdout[-4000:]
    assert batches(again.stdout) == [("canary", ["h1"]), ("waves", ["h2", "h3"]), ("waves", ["h4"])]
    changed = {h: r["changed"] for h, r in sim.recap(again.stdout).items()}
    assert changed == dict.fromkeys(HOSTS, 0), again.stdout[-4000:]


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
    before = sim.host_files(tmp_path, "h*/**/*")
    # --tags policy: the policy_kernel role is not run here (it installs into the controller's /boot), but the policy
    # step knows from policy_kernel_build_dir that this rollout would prepare the hierarchy first
    result = rollout(tmp_path, inv, "--check", "--tags", "policy", "-e", "policy_kernel_build_dir=/nonexistent")
    assert result.returncode == 0, result.stdout[-4000:]
    assert batches(result.stdout) == [("canary", ["h1"]), ("waves", ["h2"]), ("waves", ["h3"]), ("waves", ["h4"])]
    assert "/sys/fs/cgroup/policy is not mounted yet" in result.stdout
    assert result.stdout.count("is not mounted yet") == 1, "only h1 lacks the hierarchy"
    assert sim.host_files(tmp_path, "h*/**/*") == before


def test_tags_policy_runs_the_whole_policy_step(tmp_path: Path) -> None:
    # the role is included under the playbook's tag "policy", which is none of the role's own tags: it must still
    # probe, apply and persist, not skip every step and then fail verifying what it never applied
    inv, _kernels = fleet(tmp_path)
    result = rollout(tmp_path, inv, "--tags", "policy")
    assert result.returncode == 0, result.stdout[-4000:]
    assert batches(result.stdout) == [("canary", ["h1"]), ("waves", ["h2"]), ("waves", ["h3"]), ("waves", ["h4"])]
    for name in HOSTS:
        assert (tmp_path / name / "etc" / "policygroups" / "policy.json").is_file(), f"{name} was not persisted"


def test_a_refused_host_fails_before_any_host_of_its_batch_changes(tmp_path: Path) -> None:
    # h3 has a misspelt variable: the refusal must come for the whole batch (h2, h3, h4) before the converge task,
    # so that max_fail_percentage stops the batch with h2 and h4 untouched, not after they changed
    inv, _kernels = fleet(tmp_path, host_vars={"h3": {"policy_group": [{"name": "latency"}]}})
    result = rollout(tmp_path, inv, "-e", '{"policy_groups_waves": [3]}')
    assert result.returncode != 0
    assert "policy_group: did you mean policy_groups?" in result.stdout, result.stdout[-4000:]
    assert batches(result.stdout) == [("canary", ["h1"]), ("waves", ["h2", "h3", "h4"])]
    assert (tmp_path / "h1" / "etc" / "policygroups" / "policy.json").is_file()
    for name in ("h2", "h3", "h4"):
        assert not (tmp_path / name / "etc" / "policygroups").exists(), f"{name} was touched"
