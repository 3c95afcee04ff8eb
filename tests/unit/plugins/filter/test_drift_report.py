"""policygroups.core.drift_report / drift_markdown / drift_junit: statuses, findings, exit codes, renderings."""

from __future__ import annotations

import copy
import json
import xml.etree.ElementTree as ET
from typing import Any

from ansible_collections.policygroups.core.plugins.filter import drift_report as mod
from ansible_collections.policygroups.core.plugins.filter.drift_report import (
    drift_junit,
    drift_markdown,
    drift_report,
    persisted_findings,
    runtime_findings,
)

TIERS = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
GROUPS = [
    {"name": "background", "parent": None, "state": "present", "thp": "never", "ksm": True,
     "members": {"cgroups": [], "systemd_units": [], "pids": []}},
    {"name": "batch", "parent": "background", "state": "present", "swap": {"tiers": ["slow"]},
     "members": {"cgroups": ["/system.slice/b.service"], "systemd_units": [], "pids": []}},
]
EXPECTED = {"policy_swap_tiers": TIERS, "policy_groups": GROUPS}


def record(host: str = "web1", **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "host": host, "status": "checked", "kernel_release": "6.12.0", "groups": ["background", "background/batch"],
        "changes": [], "tier_changes": [], "persist": True, "persist_path": "/etc/policygroups/policy.json",
        "persist_expected": copy.deepcopy(EXPECTED), "persisted": dict(copy.deepcopy(EXPECTED), format=1),
        "warnings": [], "unsupported": [],
    }
    rec.update(over)
    return rec


def test_in_sync_fleet_exits_zero() -> None:
    rep = drift_report([record("web1"), record("db1")], hosts=["web1", "db1"], generated_at="T")
    assert rep["summary"] == {"status": "in_sync", "exit_code": 0, "hosts": 2, "in_sync": 2, "drifted": 0,
                              "error": 0, "unreachable": 0, "findings": 0}
    assert [h["host"] for h in rep["hosts"]] == ["db1", "web1"]


def test_runtime_drift_exits_two_with_findings() -> None:
    change = {"op": "set_policy", "group": "background", "key": "thp", "before": "always", "after": "never"}
    rep = drift_report([record(changes=[change]), record("db1")])
    assert rep["summary"]["status"] == "drifted" and rep["summary"]["exit_code"] == 2
    [web] = [h for h in rep["hosts"] if h["host"] == "web1"]
    assert web["status"] == "drifted"
    assert web["findings"] == [{"group": "background", "policy": "thp", "desired": "never", "actual": "always",
                                "kind": "runtime", "op": "set_policy"}]


def test_error_and_unreachable_outrank_drift() -> None:
    change = {"op": "create_group", "group": "x", "key": None, "before": None, "after": None}
    rep = drift_report([record(changes=[change]),
                        {"host": "db1", "status": "error", "error": "boom", "failed_task": "Probe"}],
                       hosts=["web1", "db1", "worker1"])
    s = rep["summary"]
    assert (s["status"], s["exit_code"], s["drifted"], s["error"], s["unreachable"]) == ("error", 1, 1, 1, 1)
    hosts = {h["host"]: h for h in rep["hosts"]}
    assert hosts["db1"]["error"] == "Probe: boom"
    assert hosts["worker1"]["status"] == "unreachable"


def test_runtime_findings_per_operation() -> None:
    ops = [
        {"op": "create_group", "group": "a", "key": None, "before": None, "after": None},
        {"op": "remove_group", "group": "old", "key": None, "before": None, "after": None},
        {"op": "set_tiers", "group": None, "key": "tiers", "before": [TIERS[1]], "after": TIERS},
        {"op": "bind", "group": "a", "key": "bind", "before": None, "after": "/x.service"},
        {"op": "unbind", "group": "a", "key": "bind", "before": "/y.service", "after": None},
        {"op": "join_pid", "group": "a", "key": "cgroup.procs", "before": None, "after": 7},
    ]
    got = [(f["group"], f["policy"], f["desired"], f["actual"]) for f in runtime_findings(ops)]
    assert got == [("a", "group", "present", "absent"), ("old", "group", "absent", "present"),
                   (None, "swap_tiers", "fast:100 slow:-1", "slow:-1"), ("a", "members.cgroups", "/x.service", None),
                   ("a", "members.cgroups", None, "/y.service"), ("a", "members.pids", 7, None)]


def test_persisted_drift_is_reported_apart_from_runtime() -> None:
    persisted = copy.deepcopy(EXPECTED)
    persisted["policy_groups"][0]["thp"] = "always"
    persisted["policy_groups"][1]["members"]["cgroups"] = []
    rep = drift_report([record(persisted=persisted)])
    findings = rep["hosts"][0]["findings"]
    assert {(f["group"], f["policy"], f["kind"]) for f in findings} == {
        ("background", "thp", "persisted"), ("background/batch", "members.cgroups", "persisted")}
    thp = next(f for f in findings if f["policy"] == "thp")
    assert (thp["desired"], thp["actual"]) == ("never", "always")


def test_persisted_file_missing_or_groups_differ() -> None:
    assert persisted_findings(EXPECTED, None, "/etc/p.json") == [
        {"group": None, "policy": "persisted_file", "desired": "/etc/p.json", "actual": "missing",
         "kind": "persisted", "op": None}]
    fewer = {"policy_swap_tiers": TIERS[1:], "policy_groups": GROUPS[:1] + [{"name": "gone"}]}
    got = {(f["group"], f["policy"], f["desired"], f["actual"]) for f in persisted_findings(EXPECTED, fewer)}
    assert got == {(None, "swap_tiers", "fast:100 slow:-1", "slow:-1"), ("background/batch", "group", "present", "absent"),
                   ("gone", "group", "absent", "present")}


def test_persist_disabled_is_not_checked() -> None:
    rep = drift_report([record(persist=False, persisted=None)])
    assert rep["summary"]["status"] == "in_sync"


def test_markdown_lists_each_finding() -> None:
    change = {"op": "set_policy", "group": "background", "key": "thp", "before": "always", "after": "never"}
    unreachable = {"host": "db1", "status": "unreachable", "error": "ssh: timeout"}
    md = drift_markdown(drift_report([record(changes=[change]), unreachable], generated_at="T"))
    assert "**error** (exit status 1)" in md
    assert "| background | thp | never | always | runtime |" in md
    assert "## db1: unreachable" in md and "ssh: timeout" in md
    assert "| web1 | drifted | 1 | 6.12.0 |" in md


def test_markdown_notes_and_empty_tiers() -> None:
    change = {"op": "set_tiers", "group": None, "key": "tiers", "before": [], "after": TIERS}
    md = drift_markdown(drift_report([record(tier_changes=[change], warnings=["groups not planned"])]))
    assert "| (host) | swap_tiers | fast:100 slow:-1 | none | runtime |" in md
    assert "## Notes" in md and "- web1: groups not planned" in md


def test_markdown_escapes_pipes() -> None:
    change = {"op": "set_policy", "group": "g", "key": "numa", "before": "a|b", "after": "c"}
    assert "a\\|b" in drift_markdown(drift_report([record(changes=[change])]))


def test_junit_counts_failures_and_errors() -> None:
    change = {"op": "set_policy", "group": "background/batch", "key": "swap_tiers", "before": "fast", "after": "slow"}
    rep = drift_report([record(changes=[change]), record("db1"), {"host": "w", "status": "error", "error": "x"}])
    root = ET.fromstring(drift_junit(rep))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("7", "1", "1")  # 2 hosts x (host-wide + 2 groups) + 1 error
    web = root.find("testsuite[@name='web1']")
    assert web is not None
    failed = [c for c in web.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["background/batch"]
    assert "desired slow, actual fast" in (failed[0].find("failure").text or "")
    err = root.find("testsuite[@name='w']/testcase/error")
    assert err is not None and err.get("type") == "error"


def test_report_is_json_serialisable() -> None:
    json.dumps(drift_report([record()]))


def test_filters_registered() -> None:
    assert set(mod.FilterModule().filters()) == {"drift_report", "drift_markdown", "drift_junit"}


def test_reports_merge_from_their_host_entries() -> None:
    change = {"op": "set_policy", "group": "background", "key": "thp", "before": "always", "after": "never"}
    slice_a = drift_report([record("web1", changes=[change])])
    slice_b = drift_report([record("db1"), {"host": "w1", "status": "unreachable", "error": "timeout"}])
    merged = drift_report(slice_a["hosts"] + slice_b["hosts"])
    assert merged["summary"] == {"status": "error", "exit_code": 1, "hosts": 3, "in_sync": 1, "drifted": 1,
                                 "error": 0, "unreachable": 1, "findings": 1}
    assert merged["hosts"] == sorted(slice_a["hosts"] + slice_b["hosts"], key=lambda h: h["host"])
