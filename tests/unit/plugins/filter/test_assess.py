"""policygroups.core.assess_report / assess_summary / assess_markdown: findings, the starter fleet document (valid by
the collection's own validator), what it cannot express, and the reports."""

from __future__ import annotations

import copy
from typing import Any

import yaml

from ansible_collections.policygroups.core.plugins.filter.assess import (
    FilterModule,
    assess_markdown,
    assess_report,
    assess_summary,
    group_name,
    unit_policy,
)
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import validate_fleet


def unit(settings: dict[str, str], cgroup: str | None = None, state: str = "active", **extra: Any) -> dict[str, Any]:
    return {"settings": settings, "active_state": state, "transient": False, "control_group": cgroup,
            "slice": None, "need_daemon_reload": False, "fragment_path": None, "dropin_paths": [], "main_pid": 0,
            **extra}


STOCK_INFO = {"backend": "systemd", "available": True, "reason": None, "kernel_release": "6.12.48+deb13-cloud-amd64",
              "tiers_supported": False, "swap_tiers": [], "groups": {}}


def stock_host() -> dict[str, Any]:
    """A Debian host: a batch slice that forbids swap, a database that never swaps, services with OOM preferences."""
    return {
        "cgroup_v2": True, "cgroup_v2_reason": None, "cgroups_truncated": False,
        "memory_files_seen": ["memory.high", "memory.low", "memory.max", "memory.swap.max"],
        "cgroups": {
            "/system.slice": {},
            "/system.slice/db.service": {"memory.swap.max": "0", "memory.low": "268435456"},
            "/system.slice/api.service": {},
            "/system.slice/web.service": {},
            "/batch.slice": {"memory.swap.max": "0"},
            "/batch.slice/report.service": {},
            "/batch.slice/etl.service": {"memory.max": "2147483648"},
            "/batch.slice/etl.service/worker": {},
            "/docker": {"memory.swap.max": "0"},
        },
        "systemd": True, "systemd_reason": None, "units_loaded": 120,
        "units": {
            "db.service": unit({"OOMScoreAdjust": "-800", "MemorySwapMax": "0", "MemoryLow": "268435456"},
                               "/system.slice/db.service", main_pid=612, running_oom_score_adj="-800"),
            "api.service": unit({"OOMScoreAdjust": "-500"}, "/system.slice/api.service", main_pid=700,
                                running_oom_score_adj="0"),
            "web.service": unit({"OOMScoreAdjust": "-500", "MemoryKSM": "yes"}, "/system.slice/web.service"),
            "batch.slice": unit({"MemorySwapMax": "0"}, "/batch.slice"),
            "report.service": unit({"OOMScoreAdjust": "500", "MemorySwapMax": "1073741824"},
                                   "/batch.slice/report.service"),
            "etl.service": unit({"MemoryMax": "2147483648", "OOMScoreAdjust": "500"}, "/batch.slice/etl.service"),
            "run-u42.service": unit({"OOMScoreAdjust": "300"}, "/system.slice/run-u42.service", transient=True),
            "edited.service": unit({}, None, state="inactive", need_daemon_reload=True),
            "nightly.service": unit({"OOMScoreAdjust": "500"}, None, state="inactive"),  # its timer starts it
        },
        "swap_devices": [{"path": "/dev/vda3", "type": "partition", "size_kb": 1048572, "used_kb": 0,
                          "priority": -2}],
        "swap_tiers": None, "globals": {"thp_enabled": "always [madvise] never"}, "errors": [],
        "policy_groups_info": copy.deepcopy(STOCK_INFO),
    }


def kinds(report: dict[str, Any]) -> list[str]:
    return [f["kind"] for f in report["findings"]]


def test_swap_blocked_by_an_ancestor_slice() -> None:
    report = assess_report(stock_host(), host="h1")
    blocked = [f for f in report["findings"] if f["kind"] == "swap_blocked_by_ancestor"]
    assert len(blocked) == 1
    assert blocked[0]["subject"] == "/batch.slice"
    assert blocked[0]["units"] == ["etl.service", "report.service"]
    assert blocked[0]["explicit"] == ["report.service"]  # it asks for 1 GiB of swap itself
    # db.service forbids swap itself: no finding; a cgroup that is no unit (worker) is not counted.
    assert "db.service" not in str(blocked)


def test_zswap_writeback_disabled_on_an_ancestor() -> None:
    host = stock_host()
    host["cgroups"]["/batch.slice"]["memory.zswap.writeback"] = "0"
    report = assess_report(host)
    found = [f for f in report["findings"] if f["kind"] == "zswap_writeback_blocked_by_ancestor"]
    assert [f["units"] for f in found] == [["etl.service", "report.service"]]
    host["cgroups"]["/batch.slice/report.service"]["memory.zswap.writeback"] = "0"
    again = [f for f in assess_report(host)["findings"] if f["kind"] == "zswap_writeback_blocked_by_ancestor"]
    assert [f["units"] for f in again] == [["etl.service"]]


def test_latency_and_batch_units_share_every_swap_device() -> None:
    report = assess_report(stock_host())
    shared = [f for f in report["findings"] if f["kind"] == "swap_devices_shared"]
    assert len(shared) == 1 and shared[0]["severity"] == "warning"
    assert shared[0]["latency_units"] == ["api.service", "db.service", "web.service"]
    assert shared[0]["batch_units"] == ["etl.service", "nightly.service", "report.service", "run-u42.service"]
    assert "no swap tiers" in shared[0]["message"]


def test_no_shared_swap_finding_without_devices_or_with_tier_selection() -> None:
    host = stock_host()
    host["swap_devices"] = []
    assert "swap_devices_shared" not in kinds(assess_report(host))
    host = stock_host()
    host["policy_groups_info"] = {"backend": "policyfs", "available": True, "tiers_supported": True,
                                  "swap_tiers": [{"name": "slow", "start_priority": -1}],
                                  "groups": {"batch": {"name": "batch", "parent": None,
                                                       "policies": {"swap_tiers": "slow"}, "members": {}}}}
    assert "swap_devices_shared" not in kinds(assess_report(host))
    host["policy_groups_info"]["groups"]["batch"]["policies"]["swap_tiers"] = "inherit"
    shared = [f for f in assess_report(host)["findings"] if f["kind"] == "swap_devices_shared"]
    assert "no policy group selects one" in shared[0]["message"]


def test_settings_not_yet_in_effect() -> None:
    host = stock_host()
    host["cgroups"]["/system.slice/db.service"]["memory.swap.max"] = "max"  # written by hand after start
    host["cgroups"]["/system.slice/db.service"].pop("memory.swap.max")
    report = assess_report(host)
    by_kind = {(f["kind"], f["subject"]) for f in report["findings"]}
    assert ("daemon_reload_pending", "edited.service") in by_kind
    assert ("restart_pending", "api.service") in by_kind       # -500 configured, 0 running
    assert ("restart_pending", "db.service") not in by_kind    # -800 both
    assert ("runtime_differs", "db.service") in by_kind        # MemorySwapMax=0, live max
    assert ("runtime_differs", "report.service") in by_kind    # 1 GiB configured, live max
    # A kernel without the file (not seen in any cgroup) is no difference.
    host["memory_files_seen"] = ["memory.high"]
    assert "runtime_differs" not in kinds(assess_report(host))


def test_in_effect_settings_make_no_pending_findings() -> None:
    host = stock_host()
    host["units"]["api.service"]["running_oom_score_adj"] = "-500"
    host["units"]["report.service"]["settings"]["MemorySwapMax"] = "0"
    host["cgroups"]["/batch.slice/report.service"]["memory.swap.max"] = "0"
    del host["units"]["edited.service"]
    assert not {"restart_pending", "runtime_differs", "daemon_reload_pending"} & set(kinds(assess_report(host)))


def test_starter_document_reproduces_unit_settings_and_validates() -> None:
    report = assess_report(stock_host(), host="h1")
    starter = report["starter"]
    assert report["starter_errors"] == [] and validate_fleet(starter) == []
    assert "policy_swap_tiers" not in starter  # a mainline kernel has no swap tiers
    groups = {g["name"]: g for g in starter["policy_groups"]}
    assert groups["oom_m800-noswap"]["members"] == {"systemd_units": ["db.service"]}
    assert (groups["oom_m800-noswap"]["oom_score_adj"], groups["oom_m800-noswap"]["swap"]) == (-800, {"enabled": False})
    assert groups["oom_m500"]["members"] == {"systemd_units": ["api.service"]}
    assert groups["oom_m500-ksm"]["ksm"] is True
    assert groups["noswap"]["members"] == {"systemd_units": ["batch.slice"]}
    # One group per distinct policy: report (its swap amount is not expressed), etl and the inactive nightly
    # share oom_score_adj 500.
    assert groups["oom_500"]["members"] == {"systemd_units": ["etl.service", "nightly.service", "report.service"]}
    assert "OOMScoreAdjust=500" in groups["oom_500"]["description"]
    assert len(starter["policy_groups"]) == 5


def test_unexpressed_says_why() -> None:
    left = {(u["subject"], u["setting"]): u["reason"] for u in assess_report(stock_host())["unexpressed"]}
    assert "containment" in left[("db.service", "MemoryLow=268435456")]
    assert "containment" in left[("etl.service", "MemoryMax=2147483648")]
    assert "amount of swap" in left[("report.service", "MemorySwapMax=1073741824")]
    assert "transient" in left[("run-u42.service", "OOMScoreAdjust=300")]
    assert "no systemd unit" in left[("/docker", "memory.swap.max=0")]
    assert "policy_groups_swap_devices" in left[("(host)", "swap devices: /dev/vda3 priority -2")]


def test_process_settings_on_a_slice_are_not_expressed() -> None:
    policy, left = unit_policy("batch.slice", {"OOMScoreAdjust": "100", "MemorySwapMax": "0"})
    assert policy == {"swap": {"enabled": False}}
    assert left[0]["subject"] == "batch.slice" and "starts no processes" in left[0]["reason"]
    policy, left = unit_policy("x.service", {"OOMScoreAdjust": "5000", "MemoryTHP": "disable"})
    assert policy == {"thp": "never"} and "-1000..1000" in left[0]["reason"]


def test_group_names_are_valid_and_say_the_policy() -> None:
    name = group_name({"oom_score_adj": -1000, "swap": {"enabled": False}, "zswap_writeback": False, "ksm": True,
                       "thp": "madvise"})
    assert name == "oom_m1000-noswap-no_zswap_wb-ksm-thp_madvise"
    assert validate_fleet({"policy_groups": [{"name": name}]}) == []


def test_existing_policy_groups_and_tiers_are_kept_on_the_reference_kernel() -> None:
    host = stock_host()
    host["swap_tiers"] = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
    host["policy_groups_info"] = {
        "backend": "policyfs", "available": True, "tiers_supported": True, "swap_tiers": host["swap_tiers"],
        "kernel_release": "6.12.0-policy",
        "groups": {
            "background": {"name": "background", "parent": None, "members": {"cgroups": [], "pids": []},
                           "policies": {"thp": "never", "ksm": "1", "oom_score_adj": "inherit",
                                        "swap_tiers": "slow", "zswap_writeback": "inherit", "numa": "inherit",
                                        "mem_priority": "inherit"}},
            "background/batch": {"name": "batch", "parent": "background",
                                 "members": {"cgroups": ["/system.slice/api.service"], "pids": [4242]},
                                 "policies": {"thp": "inherit", "ksm": "inherit", "oom_score_adj": "500",
                                              "swap_tiers": "none", "zswap_writeback": "0",
                                              "numa": "bind:0", "mem_priority": "low"}}}}
    report = assess_report(host)
    starter = report["starter"]
    assert report["starter_errors"] == []
    assert starter["policy_swap_tiers"] == host["swap_tiers"]
    assert starter["policy_groups"][:2] == [
        {"name": "background", "thp": "never", "ksm": True, "swap": {"tiers": ["slow"]}},
        {"name": "batch", "parent": "background", "oom_score_adj": 500, "swap": {"enabled": False},
         "zswap_writeback": False, "numa": {"mode": "bind", "nodes": "0"}, "mem_priority": "low",
         "members": {"cgroups": ["/system.slice/api.service"]}}]
    # api.service is in a group through its cgroup already: not listed a second time.
    assert "api.service" not in str(starter["policy_groups"][2:])


def test_tiers_from_device_priorities_when_none_is_defined() -> None:
    host = stock_host()
    host["swap_tiers"] = []
    host["policy_groups_info"] = {"backend": "policyfs", "available": True, "tiers_supported": True, "groups": {}}
    host["swap_devices"] = [{"path": f"/dev/d{p}", "type": "partition", "size_kb": 1, "used_kb": 0, "priority": p}
                            for p in (300, 200, 100, 50, -2, -3)]
    report = assess_report(host)
    assert report["starter"]["policy_swap_tiers"] == [
        {"name": "prio_300", "start_priority": 300}, {"name": "prio_200", "start_priority": 200},
        {"name": "prio_100", "start_priority": 100}, {"name": "lowest", "start_priority": -1}]
    assert report["starter_errors"] == []


def test_an_invalid_starter_is_reported_not_hidden(monkeypatch: Any) -> None:
    from ansible_collections.policygroups.core.plugins.filter import assess

    monkeypatch.setattr(assess, "group_name", lambda policy: "bad name!")
    report = assess_report(stock_host())
    assert report["starter_errors"] and all("name" in e for e in report["starter_errors"])
    assert "INVALID" in assess_markdown(report)


def test_no_cgroup_v2_and_unreadable_files_are_findings() -> None:
    host = stock_host()
    host.update(cgroup_v2=False, cgroup_v2_reason="no cgroup v2 hierarchy at /sys/fs/cgroup (no cgroup.controllers)",
                cgroups={}, errors=[{"path": "/proc/612/oom_score_adj",
                                     "error": "a symbolic link is on its path or at it, which is never followed"}])
    report = assess_report(host)
    first = report["findings"][0]
    assert (first["kind"], first["severity"]) == ("no_cgroup_v2", "error")
    unreadable = [f for f in report["findings"] if f["kind"] == "unreadable"]
    assert unreadable[0]["subject"] == "/proc/612/oom_score_adj" and "symbolic link" in unreadable[0]["message"]
    assert report["findings_by_kind"]["unreadable"] == 1


def test_summary_and_markdown() -> None:
    h1 = assess_report(stock_host(), host="h1")
    summary = assess_summary([h1], hosts=["h1", "h2"], generated_at="2026-01-01T00:00:00Z")
    assert summary["summary"]["hosts"] == 2 and summary["summary"]["assessed"] == 1
    assert summary["summary"]["findings_by_kind"] == h1["findings_by_kind"]
    rows = {r["host"]: r for r in summary["hosts"]}
    assert rows["h1"]["backend"] == "systemd" and rows["h1"]["starter_valid"] is True
    assert rows["h2"]["status"] == "missing" and rows["h2"]["starter_valid"] is False
    fleet_md = assess_markdown(summary)
    assert "| h1 | assessed | 6.12.48+deb13-cloud-amd64 | systemd |" in fleet_md
    assert "| swap_blocked_by_ancestor | 1 |" in fleet_md
    host_md = assess_markdown(h1)
    assert host_md.startswith("# Memory policy assessment: h1")
    assert "| warning | swap_blocked_by_ancestor | /batch.slice |" in host_md
    starter = host_md.split("```yaml\n", 1)[1].split("```", 1)[0]
    assert yaml.safe_load(starter) == h1["starter"]
    assert set(FilterModule().filters()) == {"assess_report", "assess_summary", "assess_markdown"}
