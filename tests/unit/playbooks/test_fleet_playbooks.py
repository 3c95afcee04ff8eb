"""The fleet playbooks end to end on simulated hosts (ansible_connection: local, host trees via host_root).

* render.yml writes one file per host and never connects (its hosts point at an address nothing answers).
* role + drift.sh: a converged fleet is in sync (exit 0); a hand-made change to a kernel value and one to the
  persisted file are reported exactly, as runtime and persisted drift, in JSON, Markdown and JUnit (exit 2); an
  unreachable host makes the audit an error (exit 1).
"""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

DOC = sim.fleet_document(sim.LATENCY, sim.BACKGROUND,
                         {"name": "batch", "parent": "background", "thp": "madvise", "zswap_writeback": False})


def test_render_writes_every_host_without_connecting(tmp_path: Path) -> None:
    facts = {"backend": "policyfs", "available": True, "abi_version": 1, "kernel_release": "6.12.0-policy",
             "features": ["thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "bind"],
             "swap_devices": [{"path": "/dev/zram0", "priority": 150}], "numa_nodes": [0]}
    # A layer whose value is a template: rendered in the host's context (the other variables are taken as they are).
    layer = [{"name": "latency", "oom_score_adj": "{{ web1_oom | int }}"}]
    inv = sim.write_inventory(tmp_path / "inv.json", {"web1": dict(sim.UNREACHABLE, policy_groups_facts=facts,
                                                                   policy_groups__web=layer, web1_oom=-600),
                                                      "db1": dict(sim.UNREACHABLE)}, DOC)
    result = sim.ansible_playbook(tmp_path, "-i", str(inv), str(sim.REPO / "playbooks" / "render.yml"),
                                  "-e", "policy_groups_render_dir=out")
    assert result.returncode == 0, result.stdout[-3000:]
    web1 = yaml.safe_load((tmp_path / "out" / "web1.yml").read_text())
    db1 = yaml.safe_load((tmp_path / "out" / "db1.yml").read_text())
    assert (web1["facts"], db1["facts"]) == ("present", "missing")
    assert list(web1["groups"]) == ["latency", "background", "background/batch"]
    assert web1["groups"]["background/batch"]["inherited"]["ksm"] == "1"
    assert web1["groups"]["latency"]["policy"]["oom_score_adj"] == "-600"
    assert yaml.safe_load((tmp_path / "out" / "db1.yml").read_text())["groups"]["latency"]["policy"]["oom_score_adj"] \
        == "-500"
    assert web1["summary"]["present"] == ["latency", "background", "background/batch"]
    assert web1["summary"]["changes"] == ["first plan for this host (no previous plan to compare)"]
    assert web1["summary"]["warnings"] == ["background: swap tiers slow have no active swap device on this host; "
                                           "the group's pages will not be swapped out"]
    fleet = (tmp_path / "out" / "fleet-plan.md").read_text()
    assert "| web1 | policyfs | present | latency, background, background/batch | - | 0 | 1 | first plan |" in fleet
    # Rendered again into the same directory: each plan is compared with the previous one.
    again = sim.ansible_playbook(tmp_path, "-i", str(inv), str(sim.REPO / "playbooks" / "render.yml"),
                                 "-e", "policy_groups_render_dir=out")
    assert again.returncode == 0, again.stdout[-3000:]
    assert yaml.safe_load((tmp_path / "out" / "web1.yml").read_text())["summary"]["changes"] == []
    assert "| db1 | - | missing | latency, background, background/batch | - | 0 | 1 | 0 |" in \
        (tmp_path / "out" / "fleet-plan.md").read_text()


def test_converge_then_drift_exit_status_and_reports(tmp_path: Path) -> None:
    roots = {name: tmp_path / name for name in ("h1", "h2")}
    kernels = {name: sim.simulated_host(root, converged_to=DOC) for name, root in roots.items()}
    hosts = {name: sim.local_host(root) for name, root in roots.items()}
    inv = sim.write_inventory(tmp_path / "inv.json", hosts, DOC)
    role = tmp_path / "role.yml"
    role.write_text("- name: Role\n  hosts: all\n  gather_facts: false\n  roles: [policygroups.core.policy_groups]\n")

    first = sim.ansible_playbook(tmp_path, "-i", str(inv), str(role))
    assert first.returncode == 0, first.stdout[-3000:]
    again = sim.ansible_playbook(tmp_path, "-i", str(inv), str(role))
    assert {h: r["changed"] for h, r in sim.recap(again.stdout).items()} == {"h1": 0, "h2": 0}, again.stdout[-3000:]

    drift = [str(sim.REPO / "playbooks" / "drift.sh"), "-i", str(inv)]
    report_env = sim.ansible_env(POLICY_GROUPS_REPORT_DIR=str(tmp_path / "report"))
    in_sync = subprocess.run(drift, cwd=tmp_path, env=report_env, capture_output=True, text=True, check=False)
    assert in_sync.returncode == 0, in_sync.stdout[-3000:]

    # hand-made changes: one kernel value on h1, the persisted file on h2
    kernels["h1"].write("/sys/fs/cgroup/policy/latency/policy.thp", "always")
    persisted = roots["h2"] / "etc" / "policygroups" / "policy.json"
    doc = json.loads(persisted.read_text())
    doc["policy_groups"][1]["ksm"] = False
    persisted.write_text(json.dumps(doc))
    drifted = subprocess.run(drift, cwd=tmp_path, env=report_env, capture_output=True, text=True, check=False)
    assert drifted.returncode == 2, drifted.stdout[-3000:]
    report = json.loads((tmp_path / "report" / "drift.json").read_text())
    findings = {h["host"]: [(f["group"], f["policy"], f["desired"], f["actual"], f["kind"]) for f in h["findings"]]
                for h in report["hosts"]}
    assert findings == {"h1": [("latency", "thp", "never", "always", "runtime")],
                        "h2": [("background", "ksm", "1", "0", "persisted")]}
    markdown = (tmp_path / "report" / "drift.md").read_text()
    assert "| latency | thp | never | always | runtime |" in markdown
    assert "| background | ksm | 1 | 0 | persisted |" in markdown
    junit = ET.parse(tmp_path / "report" / "drift.xml").getroot()
    assert (junit.get("failures"), junit.get("errors")) == ("2", "0")

    # an unreachable host turns the audit into an error, the other hosts are still reported
    hosts["h3"] = dict(sim.UNREACHABLE)
    sim.write_inventory(tmp_path / "inv.json", hosts, DOC)
    errored = subprocess.run(drift, cwd=tmp_path, env=report_env, capture_output=True, text=True, check=False)
    assert errored.returncode == 1, errored.stdout[-3000:]
    report = json.loads((tmp_path / "report" / "drift.json").read_text())
    statuses = {h["host"]: h["status"] for h in report["hosts"]}
    assert statuses == {"h1": "drifted", "h2": "drifted", "h3": "unreachable"}
