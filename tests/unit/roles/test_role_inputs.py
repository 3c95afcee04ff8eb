"""The policy_groups role checks each host's variables before it reads or writes anything: a variable that looks
like the collection's but is not (policy_group: for policy_groups:) fails the host, and purge on a host whose
document is absent (not empty) is refused instead of removing every group."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = """
- name: The role
  hosts: all
  gather_facts: false
  roles: [policygroups.core.policy_groups]
"""
CONVERGED = sim.fleet_document({"name": "latency", "thp": "never"}, {"name": "batch", "ksm": True})


def run_role(tmp_path: Path, variables: dict[str, Any], converged: bool = True, *args: str) -> tuple[Any, Any]:
    root = tmp_path / "host"
    kernel = sim.simulated_host(root, converged_to=CONVERGED if converged else None)
    before = sim.host_files(root)
    inventory = sim.write_inventory(tmp_path / "inv.json", {"h1": sim.local_host(root)},
                                    {"policy_groups_persist": False, "policy_groups_validate": False, **variables})
    (tmp_path / "play.yml").write_text(PLAY)
    run = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", *args)
    assert sim.host_files(root) == before
    return run, kernel


def test_a_misspelt_document_variable_fails_the_host_untouched(tmp_path: Path) -> None:
    run, kernel = run_role(tmp_path, {"policy_group": [{"name": "latency"}], "policy_swap_tier": [],
                                      "policy_groups_purge": True, "policy_groups": []})
    assert run.returncode != 0
    assert "policy_group: did you mean policy_groups?" in run.stdout
    assert "policy_swap_tier: did you mean policy_swap_tiers?" in run.stdout
    assert kernel.groups() == ["batch", "latency"]


def test_purge_on_an_absent_document_is_refused(tmp_path: Path) -> None:
    run, kernel = run_role(tmp_path, {"policy_groups_purge": True})
    assert run.returncode != 0 and "policy_groups is not defined for this host" in run.stdout
    assert kernel.groups() == ["batch", "latency"]


def test_ignored_lookalike_and_an_explicit_empty_document_pass(tmp_path: Path) -> None:
    # (The simulated host cannot remove groups through the real file system, so the host starts without any.)
    run, kernel = run_role(tmp_path, {"policy_group": "a label of our own", "policy_groups_ignore_vars": ["policy_group"],
                                      "policy_groups_purge": True, "policy_groups": []}, converged=False)
    assert run.returncode == 0, run.stdout[-3000:]
    assert kernel.groups() == []


def test_swap_devices_on_a_simulated_host_tree_are_refused(tmp_path: Path) -> None:
    # swapon and mkswap would act on the machine running the test, not on the tree standing for the host
    run, kernel = run_role(tmp_path, {"policy_groups": [], "policy_groups_swap_devices": [
        {"path": "/dev/zram0", "type": "zram", "size": "1M", "priority": 5}]})
    assert run.returncode != 0 and "(the policy_groups role's policy_groups_swap_devices) run swapon, swapoff and mkswap" in run.stdout
    assert kernel.groups() == ["batch", "latency"]


def test_lookalikes_are_refused_with_validate_alone_and_not_when_it_is_skipped(tmp_path: Path) -> None:
    # the check is part of the converge task, run as a task of the role's tags would be: --tags validate runs it
    # (and nothing else on the host), --skip-tags validate leaves it out
    variables = {"policy_group": [{"name": "latency"}], "policy_groups": []}
    run, kernel = run_role(tmp_path / "only", variables, True, "--tags", "validate")
    assert run.returncode != 0 and "policy_group: did you mean policy_groups?" in run.stdout, run.stdout[-3000:]
    run, kernel = run_role(tmp_path / "skipped", variables, True, "--skip-tags", "validate")
    assert run.returncode == 0 and "did you mean" not in run.stdout, run.stdout[-3000:]
    assert kernel.groups() == ["batch", "latency"]


def test_purge_on_an_absent_document_is_refused_whatever_the_tags(tmp_path: Path) -> None:
    run, kernel = run_role(tmp_path, {"policy_groups_purge": True}, True, "--skip-tags", "validate")
    assert run.returncode != 0 and "policy_groups is not defined for this host" in run.stdout
    assert kernel.groups() == ["batch", "latency"]


@pytest.mark.parametrize("skipped", ["persist", "verify", "render", "apply", "probe"])
def test_refusals_hold_when_another_step_is_skipped(tmp_path: Path, skipped: str) -> None:
    # only --skip-tags validate leaves the look-alike check out; swap devices on a host tree are refused whatever
    # is skipped (with apply skipped, the verification would read the live host's devices for the tree's)
    run, kernel = run_role(tmp_path / "lookalike", {"policy_group": [{"name": "latency"}], "policy_groups": []}, True,
                           "--skip-tags", skipped)
    assert run.returncode != 0 and "policy_group: did you mean policy_groups?" in run.stdout, run.stdout[-3000:]
    run, kernel = run_role(tmp_path / "swap", {"policy_groups": [], "policy_groups_swap_devices": [
        {"path": "/dev/zram0", "type": "zram", "size": "1M", "priority": 5}]}, True, "--skip-tags", skipped)
    assert run.returncode != 0 and "(the policy_groups role's policy_groups_swap_devices) run swapon, swapoff and mkswap" in run.stdout, \
        run.stdout[-3000:]
    assert kernel.groups() == ["batch", "latency"]
