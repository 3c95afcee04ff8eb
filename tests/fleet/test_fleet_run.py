"""The artifacts of a ``scripts/demo.sh`` run against real guests (``scripts/test-fleet.sh`` runs both).

Each check reads what the run left in ``--fleet-dir``: ansible-playbook logs (batches, play recap), the drift
reports in their three formats (each parsed on its own: JSON, the Markdown tables, the JUnit XML) and what the
rebooted guest reported about its boot. The expected drift is exactly what demo.sh's tamper step does by hand.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

HOSTS = ("web1", "db1", "worker1")
# (host, group, policy, desired, actual, kind): demo.sh's tamper step, and nothing else
TAMPERED = {
    ("web1", "latency", "thp", "never", "always", "runtime"),
    ("db1", "background", "swap_tiers", "slow", "fast", "runtime"),
    ("worker1", "background", "oom_score_adj", "500", "0", "persisted"),
}
BATCH = re.compile(r"ROLLOUT BATCH (canary|waves): ([^'\"(\n]+?)\s*(?:\(hosts \d+-\d+ of \d+\))?['\"]?$", re.MULTILINE)
RECAP = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
MD_ROW = re.compile(r"^\| (?P<cells>.+) \|$")


def artifact(fleet_dir: Path, name: str) -> Path:
    path = fleet_dir / name
    if not path.exists():
        pytest.fail(f"{path} is missing: scripts/demo.sh stopped before the step that writes it")
    return path


def recap(log: Path) -> dict[str, dict[str, int]]:
    text = log.read_text()
    assert "PLAY RECAP" in text, f"{log}: no play recap"
    return {m.group(1): {"changed": int(m.group(3)), "unreachable": int(m.group(4)), "failed": int(m.group(5))}
            for m in RECAP.finditer(text.split("PLAY RECAP")[-1])}


def batches(log: Path) -> list[tuple[str, list[str]]]:
    return [(m.group(1), [h.strip() for h in m.group(2).split(",")]) for m in BATCH.finditer(log.read_text())]


# --------------------------------------------------------------------------------------------------------------
# The three report formats, each read on its own


def json_findings(report_dir: Path) -> tuple[dict[str, Any], set[tuple[str, ...]]]:
    report: dict[str, Any] = json.loads((report_dir / "drift.json").read_text())
    found: set[tuple[str, ...]] = {
        (str(h["host"]), str(f["group"] or "(host)"), str(f["policy"]), str(f["desired"]), str(f["actual"]),
         str(f["kind"]))
        for h in report["hosts"] for f in h["findings"]}
    return report, found


def markdown_findings(report_dir: Path) -> tuple[dict[str, str], set[tuple[str, ...]]]:
    """Host statuses from the summary table and the findings from each host's table."""
    statuses: dict[str, str] = {}
    found: set[tuple[str, ...]] = set()
    host = None
    for line in (report_dir / "drift.md").read_text().splitlines():
        heading = re.match(r"^## (\S+): (\w+)$", line)
        if heading:
            host = heading.group(1)
            continue
        row = MD_ROW.match(line)
        if not row or set(line) <= set("|-"):
            continue
        cells = [c.strip() for c in row.group("cells").split(" | ")]
        if cells[0] in ("Host", "Group"):
            continue
        if host is None and len(cells) == 4:
            statuses[cells[0]] = cells[1]
        elif host is not None and len(cells) == 5:
            found.add((host, *cells))
    return statuses, found


def junit_findings(report_dir: Path) -> tuple[ET.Element, set[tuple[str, ...]]]:
    """(host, group, policy, desired, actual, kind) from the failure texts of each host's test cases."""
    root = ET.parse(report_dir / "drift.xml").getroot()
    found: set[tuple[str, ...]] = set()
    for suite in root.iter("testsuite"):
        for case in suite.iter("testcase"):
            failure = case.find("failure")
            if failure is None:
                continue
            group = "(host)" if case.get("name", "").startswith("host-wide") else case.get("name", "")
            for line in (failure.text or "").splitlines():
                m = re.match(r"^(runtime|persisted) (\S+): desired (.*), actual (.*)$", line)
                assert m, f"unparsable JUnit failure line {line!r}"
                found.add((suite.get("name", ""), group, m.group(2), m.group(3), m.group(4), m.group(1)))
    return root, found


def exit_status(report_dir: Path) -> int:
    return int((report_dir / "exit_status").read_text())


# --------------------------------------------------------------------------------------------------------------
# Preview and rollouts


def test_preview_in_check_mode_changed_nothing(fleet_dir: Path) -> None:
    log = artifact(fleet_dir, "preview.log")
    result = recap(log)
    assert set(result) == set(HOSTS)
    assert batches(log) == [("canary", ["web1"]), ("waves", ["db1"]), ("waves", ["worker1"])]
    # fresh guests: the policy_kernel role would mount the hierarchy first, so the policy is reported as pending
    assert len(re.findall(r"is\s+not\s+mounted\s+yet", log.read_text())) == len(HOSTS)
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in result.values()), result
    for host in HOSTS:
        before = artifact(fleet_dir, f"fresh-{host}.before").read_text()
        after = artifact(fleet_dir, f"fresh-{host}.after").read_text()
        assert before == after, f"check mode changed {host}"
        assert "policy.json" not in after


def test_rollout_runs_the_canary_alone_then_the_waves(fleet_dir: Path) -> None:
    log = artifact(fleet_dir, "rollout.log")
    assert batches(log) == [("canary", ["web1"]), ("waves", ["db1"]), ("waves", ["worker1"])]
    result = recap(log)
    assert set(result) == set(HOSTS)
    assert all(r["failed"] == 0 and r["unreachable"] == 0 and r["changed"] > 0 for r in result.values()), result


def test_second_rollout_changes_nothing(fleet_dir: Path) -> None:
    result = recap(artifact(fleet_dir, "rollout-again.log"))
    assert {h: (r["changed"], r["failed"], r["unreachable"]) for h, r in result.items()} == \
        dict.fromkeys(HOSTS, (0, 0, 0))


# --------------------------------------------------------------------------------------------------------------
# Drift audits


def test_audit_after_tamper_reports_exactly_the_tampered_values(fleet_dir: Path) -> None:
    report_dir = artifact(fleet_dir, "drift-tampered")
    assert exit_status(report_dir) == 2

    report, found = json_findings(report_dir)
    assert report["summary"]["status"] == "drifted"
    assert report["summary"]["exit_code"] == 2
    assert {h["host"]: h["status"] for h in report["hosts"]} == dict.fromkeys(HOSTS, "drifted")
    assert found == TAMPERED

    statuses, md_found = markdown_findings(report_dir)
    assert statuses == dict.fromkeys(HOSTS, "drifted")
    assert md_found == TAMPERED

    root, xml_found = junit_findings(report_dir)
    assert (root.get("failures"), root.get("errors")) == (str(len(TAMPERED)), "0")
    assert xml_found == TAMPERED


@pytest.mark.parametrize("name", ["drift-converged", "drift-rebooted"])
def test_audit_in_sync(fleet_dir: Path, name: str) -> None:
    report_dir = artifact(fleet_dir, name)
    assert exit_status(report_dir) == 0
    report, found = json_findings(report_dir)
    assert report["summary"]["status"] == "in_sync"
    assert {h["host"]: h["status"] for h in report["hosts"]} == dict.fromkeys(HOSTS, "in_sync")
    assert found == set()
    statuses, md_found = markdown_findings(report_dir)
    assert statuses == dict.fromkeys(HOSTS, "in_sync")
    assert md_found == set()
    root, xml_found = junit_findings(report_dir)
    assert (root.get("failures"), root.get("errors")) == ("0", "0")
    assert int(root.get("tests", "0")) >= len(HOSTS)
    assert xml_found == set()


def test_converge_after_tamper_succeeds(fleet_dir: Path) -> None:
    result = recap(artifact(fleet_dir, "converge.log"))
    assert all(r["failed"] == 0 and r["unreachable"] == 0 for r in result.values()), result
    assert {h for h, r in result.items() if r["changed"]} == set(HOSTS)


# --------------------------------------------------------------------------------------------------------------
# Reboot


def test_each_host_s_facts_were_kept_from_run_to_run(fleet_dir: Path) -> None:
    """The demo runs with a persistent fact cache, as a fleet should (roles/policy_groups/README.md): the facts the
    role keeps for each host are in it, so the next run renders against them and reaches the host in one module run.
    """
    cache = artifact(fleet_dir, "facts")
    for host in HOSTS:
        # ansible-core's jsonfile cache: a file per host, named after it (newer releases put a prefix before the
        # name and the facts, as JSON text, under "__payload__")
        files = [f for f in cache.iterdir() if f.name == host or f.name.endswith(f"_{host}")]
        assert len(files) == 1, f"{host}: no file of its own in the fact cache: {sorted(os.listdir(cache))}"
        facts = json.loads(files[0].read_text())
        if "__payload__" in facts:
            facts = json.loads(facts["__payload__"])
        assert "policy_groups_facts" in facts, f"{host}: the fact cache has no policy_groups_facts: {sorted(facts)}"


def test_reboot_restores_the_policy_before_the_bound_services(fleet_dir: Path) -> None:
    r = json.loads(artifact(fleet_dir, "reboot.json").read_text())
    units = r["units"]
    mount = units["policygroups-hierarchy.service"]
    restore = units["policygroups-restore.service"]
    ssh = units["ssh.service"]
    assert (restore["ActiveState"], restore["Result"], restore["ExecMainStatus"]) == ("active", "success", "0")
    assert int(mount["ActiveEnterTimestampMonotonic"]) <= int(restore["ExecMainStartTimestampMonotonic"])
    assert 0 < int(restore["ExecMainExitTimestampMonotonic"]) <= int(ssh["ExecMainStartTimestampMonotonic"])
    assert any(re.search(r"applied [1-9][0-9]* operation", line) for line in r["restore_journal"]), \
        r["restore_journal"]
    assert not any("skipped:" in line for line in r["restore_journal"]), r["restore_journal"]
    assert r["member_groups"] == {"ssh.service": "/latency", "systemd-journald.service": "/background"}
    assert r["bind"]["background"] == ["/system.slice/systemd-journald.service"]
    assert "/system.slice/ssh.service" in r["bind"]["latency"]
    effective = {g: dict(line.split(" ", 1) for line in lines) for g, lines in r["effective"].items()}
    assert effective["latency"]["thp"] == "never"
    assert effective["background"]["oom_score_adj"] == "500"
    assert effective["background/batch"]["oom_score_adj"] == "800"
    assert [line.split()[0] for line in r["tiers"][1:]] == ["fast", "slow"]
