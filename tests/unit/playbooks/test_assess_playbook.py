"""playbooks/assess.yml end to end: a simulated policyfs host (a FakeKernel tree through host_root), a mainline-like
host tree with a batch slice that forbids swap, and an unreachable host; one report per host, the starter fleet
document, and the fleet summary."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import validate_fleet  # noqa: E402

pytestmark = sim.needs_ansible_playbook

DOC = sim.fleet_document(sim.LATENCY, sim.BACKGROUND)


def mainline_tree(root: Path) -> None:
    cg = root / "sys/fs/cgroup"
    for path in ("batch.slice/report.service", "system.slice/api.service"):
        (cg / path).mkdir(parents=True)
    (cg / "cgroup.controllers").write_text("memory\n")
    (cg / "batch.slice/memory.swap.max").write_text("0\n")
    (cg / "batch.slice/report.service/memory.swap.max").write_text("max\n")
    (root / "proc").mkdir()
    (root / "proc/swaps").write_text("Filename Type Size Used Priority\n/dev/vda3 partition 1048572 0 -2\n")


def test_assess_writes_host_reports_starters_and_a_summary(tmp_path: Path) -> None:
    sim.simulated_host(tmp_path / "ref", converged_to=DOC)
    mainline_tree(tmp_path / "stock")
    hosts = {"ref": sim.local_host(tmp_path / "ref"), "stock": sim.local_host(tmp_path / "stock"),
             "down": dict(sim.UNREACHABLE)}
    inv = sim.write_inventory(tmp_path / "inv.json", hosts, {})
    result = sim.ansible_playbook(tmp_path, "-i", str(inv), str(sim.REPO / "playbooks" / "assess.yml"),
                                  "-e", "policy_groups_assess_dir=out")
    assert result.returncode == 0, result.stdout[-3000:]
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        "down.json", "down.md", "ref.fleet.yml", "ref.json", "ref.md", "stock.fleet.yml", "stock.json", "stock.md",
        "summary.json", "summary.md"]

    ref = json.loads((out / "ref.json").read_text())
    assert ref["backend"] == "policyfs" and ref["starter_errors"] == []
    starter = yaml.safe_load((out / "ref.fleet.yml").read_text())
    assert validate_fleet(starter) == []
    assert starter["policy_swap_tiers"] == sim.TIERS
    assert [g["name"] for g in starter["policy_groups"]] == ["background", "latency"]
    latency = starter["policy_groups"][1]
    assert (latency["thp"], latency["oom_score_adj"], latency["swap"]) == ("never", -500, {"tiers": ["fast"]})
    assert latency["members"] == {"cgroups": ["/system.slice/api.service"]}

    stock = json.loads((out / "stock.json").read_text())
    blocked = [f for f in stock["findings"] if f["kind"] == "swap_blocked_by_ancestor"]
    assert [(f["subject"], f["units"]) for f in blocked] == [("/batch.slice", ["report.service"])]
    assert "## Findings" in (out / "stock.md").read_text()

    down = json.loads((out / "down.json").read_text())
    assert down["status"] == "unreachable" and down["starter"] is None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["summary"]["hosts"] == 3 and summary["summary"]["assessed"] == 2
    assert summary["summary"]["findings_by_kind"]["swap_blocked_by_ancestor"] == 1
    assert "| down | unreachable:" in (out / "summary.md").read_text()
