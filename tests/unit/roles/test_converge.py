"""The policy_groups role reaches a host in one module run when the host's facts are known (policygroups.core.
policy_groups_converge renders on the controller against the cached ``policy_groups_facts``; policygroups.core.
policy_host probes, applies, verifies and persists in one run), in two when they are not or are out of date, and
never applies a plan rendered against facts the host no longer has. Runs the role on simulated host trees
(ansible_connection: local, host_root), ansible-playbook with ``-v`` and one JSON line per result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from ansible.plugins.action import ActionBase

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakekernel import HostSpec  # noqa: E402

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

TASK = "in one module run"
# Two plays in one playbook: Ansible's in-memory fact cache carries the first play's probe to the second.
TWICE = sim.ROLE_PLAY + sim.ROLE_PLAY.replace("- name: The policy_groups role", "- name: The role again")


def run(tmp_path: Path, *args: str, play: str = sim.ROLE_PLAY, rc: int = 0) -> tuple[str, list[dict[str, Any]]]:
    (tmp_path / "play.yml").write_text(play)
    done = sim.ansible_playbook(tmp_path, "-i", str(tmp_path / "inv.json"), "play.yml", "-v", *args,
                                env=sim.json_results_env())
    assert done.returncode == rc, done.stdout[-4000:]
    return done.stdout, sim.task_results(done.stdout, TASK, "h1")


PROBE_PLAY = """
- name: Read a host through the role
  hosts: all
  gather_facts: false
  tasks:
    - name: Probe
      ansible.builtin.include_role:
        name: policygroups.core.policy_groups
        tasks_from: probe.yml
        public: true
    - name: Show
      ansible.builtin.debug:
        msg: "MSG"
"""


def host(tmp_path: Path, document: dict[str, Any], spec: HostSpec = sim.SERVICE_HOST,
         converged: dict[str, Any] | None = None, **variables: Any) -> Path:
    """A simulated host converged to ``converged`` (default: ``document``), with ``document`` in its inventory.
    (A plain tree cannot act as a kernel across processes, e.g. for a new tier table: the tests start from a
    converged host and change group policies, which plain files hold.)"""
    root = tmp_path / "host"
    sim.simulated_host(root, spec, converged_to=converged or document)
    sim.write_inventory(tmp_path / "inv.json", {"h1": {**sim.local_host(root), **variables}}, document)
    return root


def test_one_module_run_once_the_facts_are_known(tmp_path: Path) -> None:
    document = sim.fleet_document(sim.LATENCY, sim.BACKGROUND)
    host(tmp_path, document)
    _out, [first, second] = run(tmp_path, play=TWICE)
    # no facts yet: the host answers with its probe and the plan is rendered again, then applied and persisted
    assert first["module_runs"] == 2 and first["rendered"]["facts"] == "present"
    assert second["module_runs"] == 1 and not second["changed"]
    assert second["groups_result"]["changes"] == [] and second["tiers_result"]["changes"] == []
    assert not any(f["changed"] for f in second["persist_result"]["files"])


def test_facts_out_of_date_are_never_applied_against(tmp_path: Path) -> None:
    document = sim.fleet_document({"name": "batch", "numa": {"mode": "interleave", "nodes": "0-1"}})
    one_node = HostSpec(cgroups=sim.SERVICE_HOST.cgroups, swaps=sim.SERVICE_HOST.swaps, nodes="0")
    root = host(tmp_path, document, spec=one_node,
                converged=sim.fleet_document({"name": "batch"}), policy_groups_on_unsupported="drop")
    # facts that say the host has two NUMA nodes: rendered against them, the numa policy would be kept
    stale = {"backend": "policyfs", "available": True, "abi_version": 1, "features": ["numa"], "numa_nodes": [0, 1],
             "swap_tiers": [], "swap_devices": [], "tiers_supported": True, "kernel_release": "6.12.0-policy"}
    (tmp_path / "stale.json").write_text(json.dumps({"policy_groups_facts": stale}))
    _out, [result] = run(tmp_path, "-e", "@stale.json")
    assert result["module_runs"] == 2  # the host saw other facts and asked for a rendering against its own
    assert [u["key"] for u in result["rendered"]["unsupported"]] == ["numa"]  # node 1 is not on this host
    assert "interleave" not in (root / "sys/fs/cgroup/policy/batch/policy.numa").read_text()


def test_a_policy_the_host_cannot_honour_fails_before_any_change(tmp_path: Path) -> None:
    document = sim.fleet_document({"name": "latency", "thp": "never"}, {"name": "batch", "ksm": True})
    no_thp = HostSpec(cgroups=sim.SERVICE_HOST.cgroups, swaps=sim.SERVICE_HOST.swaps, features=("swap_tiers", "bind", "ksm"))
    root = host(tmp_path, document, spec=no_thp,
                converged=sim.fleet_document({"name": "latency"}))
    out, [result] = run(tmp_path, rc=2)
    assert "latency.thp" in result["msg"] and "cannot honour" in result["msg"]
    assert "groups_result" not in result and not (root / "sys/fs/cgroup/policy/batch").exists()
    assert not (root / "etc/policygroups/policy.json").exists(), "persisted a policy the host refused"
    assert "policy_groups : Publish" not in out  # later tasks did not run for the failed host
    # each failure cost one module run, which only probed: facts unknown (the first), or known but possibly stale
    _out, results = run(tmp_path, play=TWICE.replace("hosts: all", "hosts: all\n  ignore_errors: true", 1), rc=2)
    assert [r["module_runs"] for r in results] == [1, 1] and all("cannot honour" in r["msg"] for r in results)
    assert not (root / "sys/fs/cgroup/policy/batch").exists()


def test_tags_select_the_steps(tmp_path: Path) -> None:
    document = sim.fleet_document(sim.LATENCY)
    root = host(tmp_path, document, converged=sim.fleet_document({**sim.LATENCY, "thp": "always"}))
    thp = root / "sys/fs/cgroup/policy/latency/policy.thp"
    _out, [probed] = run(tmp_path, "--tags", "probe")
    assert "groups_result" not in probed and "persist_result" not in probed and not probed["changed"]
    assert thp.read_text().strip() == "always"
    _out, [applied] = run(tmp_path, "--skip-tags", "persist")
    assert applied["groups_result"]["changed"] and "persist_result" not in applied
    assert thp.read_text().strip() == "never" and not (root / "etc/policygroups/policy.json").exists()
    _out, [persisted] = run(tmp_path, "--tags", "persist")
    assert "groups_result" not in persisted and persisted["persist_result"]["changed"]
    assert json.loads((root / "etc/policygroups/policy.json").read_text())["policy_groups"][0]["name"] == "latency"


def test_tasks_from_probe_reads_the_host_and_changes_nothing(tmp_path: Path) -> None:
    document = sim.fleet_document(sim.LATENCY)
    root = host(tmp_path, document, converged=sim.fleet_document({**sim.LATENCY, "thp": "always"}))
    play = PROBE_PLAY.replace("MSG", """{{ {'thp': policy_groups_probe.policy_groups_info.groups.latency.policies.thp,
                  'rendered': policy_groups_rendered.groups.latency.policies.thp} }}""")
    out, [probed] = run(tmp_path, play=play)
    assert "groups_result" not in probed and "persist_result" not in probed and not probed["changed"]
    assert '"msg": {"rendered": "never", "thp": "always"}' in out
    assert (root / "sys/fs/cgroup/policy/latency/policy.thp").read_text().strip() == "always"
    assert not (root / "etc/policygroups/policy.json").exists()


def test_tasks_from_probe_is_no_purge_and_refuses_none(tmp_path: Path) -> None:
    # purge on an absent document is refused where a run applies or persists: a probe changes nothing
    converged = sim.fleet_document(sim.LATENCY)
    root = host(tmp_path, {}, converged=converged, policy_groups_purge=True)
    before = sim.host_files(root)
    play = PROBE_PLAY.replace("MSG", "PROBED {{ policy_groups_probe.policy_groups_info.groups.keys() | join(',') }}")
    out, [probed] = run(tmp_path, play=play)
    assert not probed["changed"] and "PROBED latency" in out, out[-3000:]
    assert sim.host_files(root) == before


def test_notes_are_reported_and_the_results_published_after_the_converge_task(tmp_path: Path) -> None:
    # a value the host cannot honour, dropped: the converge task publishes the role's variables (or, on older
    # ansible-core, the set_fact of the included after_converge.yml does), and the included report names it
    document = sim.fleet_document({"name": "batch", "numa": {"mode": "interleave", "nodes": "0-1"}})
    one_node = HostSpec(cgroups=sim.SERVICE_HOST.cgroups, swaps=sim.SERVICE_HOST.swaps, nodes="0")
    host(tmp_path, document, spec=one_node, converged=sim.fleet_document({"name": "batch"}),
         policy_groups_on_unsupported="drop")
    play = sim.ROLE_PLAY + """
- name: Read what the role published
  hosts: all
  gather_facts: false
  tasks:
    - name: Show
      ansible.builtin.debug:
        msg: "PUBLISHED {{ [policy_groups_rendered.unsupported | map(attribute='key') | list,
          policy_groups_probe.policy_groups_info.backend, policy_groups_result.changes | length,
          policy_groups_restart_required, policy_groups_facts.backend] | to_json }}"
"""
    out, [result] = run(tmp_path, play=play)
    report = sim.task_results(out, "Report values left out", "h1")
    assert len(report) == 1 and any(m.startswith("left out: ") for m in report[0]["msg"]), out[-3000:]
    [shown] = sim.task_results(out, "Show", "h1")
    assert json.loads(shown["msg"].removeprefix("PUBLISHED ")) == [["numa"], "policyfs", 0, [], "policyfs"]
    # published by the action where this ansible-core lets it (2.21 and later), else by the set_fact
    assert result["published"] is hasattr(ActionBase, "register_host_variables") and result["module_runs"] == 2
