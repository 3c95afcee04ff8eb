"""The systemd backend against a fake root and a fake systemctl: probe, render, plan, apply, every error path."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.policygroups.core.plugins.module_utils._engine._backend import make_backend
from ansible_collections.policygroups.core.plugins.module_utils._systemd._backend_systemd import SystemdBackend
from ansible_collections.policygroups.core.plugins.module_utils._systemd._dropins import Dropin, DropinStore
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import (
    BackendError,
    NotAvailableError,
    PlanError,
    UnsupportedError,
)
from ansible_collections.policygroups.core.plugins.module_utils._engine._info import add_stats, host_info
from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import (
    Outcome,
    UnsupportedPolicyError,
    reconcile,
)
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._systemctl import parse_show
from ansible_collections.policygroups.core.plugins.modules import policy_groups_info
from ansible_collections.policygroups.core.plugins.module_utils._module import _probe

from .fakesystemd import DEFAULT_PROPERTIES, FakeSystemd

DEMO = [
    {"name": "background", "ksm": True, "oom_score_adj": 500, "swap": {"enabled": False}},
    {"name": "demo", "parent": "background", "oom_score_adj": 300, "members": {"systemd_units": ["pg-demo.service"]}},
]
DROPIN = "etc/systemd/system/pg-demo.service.d/50-policygroups-demo.conf"
MEM_PRIORITY_REASON = (
    "no mainline equivalent: a mainline kernel cannot order reclaim across cgroups by class; MemoryLow= (memory.low) "
    "protects an amount of memory inside one subtree of the cgroup hierarchy, which is not the same, so nothing is set")


@pytest.fixture
def host(tmp_path: Path) -> FakeSystemd:
    fake = FakeSystemd(tmp_path)
    fake.add_unit("pg-demo.service")
    return fake


def backend_for(fake: FakeSystemd) -> SystemdBackend:
    return SystemdBackend(root=str(fake.root), runner=fake)


def run(fake: FakeSystemd, groups: list[dict[str, Any]], **kwargs: Any) -> Outcome[Any]:
    return reconcile(
        backend_for(fake), lambda _actual: normalize({"policy_groups": groups}),
        lock_path=str(fake.root / "lock"), **kwargs)


# -- probe ---------------------------------------------------------------------------------------------------
def test_probe_asks_systemd_which_properties_it_knows(host: FakeSystemd) -> None:
    backend = backend_for(host)
    caps = backend.probe()
    assert caps.available and caps.backend == "systemd" and not caps.tiers_supported
    assert caps.features == ("ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "systemd_units")
    assert backend.support["thp"] == "systemd 257 (257.9-1) has no MemoryTHP= unit property (asked with systemctl show)"
    assert backend.support["mem_priority"] == MEM_PRIORITY_REASON
    probe = host.calls[0]
    assert probe[0] == "show" and probe[-1] == "policygroups-probe.service" and "--property=MemoryTHP" in probe


def test_probe_reports_thp_when_systemd_has_memory_thp(tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path, properties=DEFAULT_PROPERTIES + ("MemoryTHP",))
    assert "thp" in backend_for(fake).probe().features


def test_mem_priority_is_unsupported_whatever_systemd_and_the_kernel_have(tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path, properties=DEFAULT_PROPERTIES + ("MemoryTHP",))
    backend = backend_for(fake)
    assert backend.probe().features == (
        "thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "systemd_units")
    assert backend.support["mem_priority"] == MEM_PRIORITY_REASON


def test_probe_reports_a_kernel_without_zswap_writeback(tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path, zswap=False)
    backend = backend_for(fake)
    assert "zswap_writeback" not in backend.probe().features
    assert backend.support["zswap_writeback"] == (
        "kernel 6.12.0-test has no memory.zswap.writeback (looked in /sys/fs/cgroup/system.slice)")


@pytest.mark.parametrize("remove, reason", [
    ("run/systemd/system", "systemd is not the running init system (no /run/systemd/system)"),
    ("sys/fs/cgroup/cgroup.controllers", "no cgroup v2 hierarchy at /sys/fs/cgroup"),
])
def test_probe_unavailable_without_systemd_or_cgroup2(host: FakeSystemd, remove: str, reason: str) -> None:
    target = host.root / remove
    os.rmdir(target) if target.is_dir() else target.unlink()
    caps = backend_for(host).probe()
    assert not caps.available and caps.reason == f"the systemd backend is not available on this host: {reason}"
    with pytest.raises(NotAvailableError, match="not available"):
        backend_for(host).require()


def test_probe_unavailable_when_systemctl_fails(host: FakeSystemd) -> None:
    host.fail["show"] = (1, "Failed to connect to bus: No such file or directory")
    caps = backend_for(host).probe()
    assert not caps.available and "Failed to connect to bus" in (caps.reason or "")


def test_auto_takes_systemd_when_policyfs_is_absent_and_policyfs_explains_when_neither(host: FakeSystemd, tmp_path: Path) -> None:
    assert make_backend("auto", root=str(host.root), runner=host).name == "systemd"
    bare = tmp_path / "bare"
    bare.mkdir()
    assert make_backend("auto", root=str(bare), runner=host).name == "policyfs"


# -- converge ------------------------------------------------------------------------------------------------
def test_first_run_writes_rendered_dropin_reloads_once_sets_live_value(host: FakeSystemd) -> None:
    outcome = run(host, DEMO)
    assert outcome.ok and outcome.changed
    assert [op.op for op in outcome.applied] == ["write_dropin", "daemon_reload", "set_runtime"]
    content = (host.root / DROPIN).read_text()
    assert content == (
        "# policygroups.core group=background/demo\n"
        "# Written by the policygroups.core collection from the fleet document; local edits are overwritten.\n"
        "[Service]\nMemoryKSM=yes\nMemorySwapMax=0\nOOMScoreAdjust=300\n")
    assert (host.root / DROPIN).stat().st_mode & 0o777 == 0o644
    assert host.ops() == ["daemon-reload", "set-property"]
    assert host.live("pg-demo.service", "memory.swap.max") == "0"
    # the runtime drop-in set-property leaves is redundant with /etc and removed
    assert not (host.root / "run/systemd/system.control/pg-demo.service.d/50-MemorySwapMax.conf").exists()
    assert outcome.restart_required == ["pg-demo.service"]
    result = outcome.result()
    assert result["diff"] == {"before": {}, "after": {"background/demo": {
        "policies": result["groups"]["background/demo"]["policies"],
        "settings": result["groups"]["background/demo"]["settings"],
        "members": {"cgroups": [], "systemd_units": ["pg-demo.service"], "pids": []}}}}
    assert result["groups"]["background/demo"]["members"]["systemd_units"] == ["pg-demo.service"]
    assert result["groups"]["background/demo"]["policies"]["oom_score_adj"] == "300"


def test_second_run_changes_nothing(host: FakeSystemd) -> None:
    run(host, DEMO)
    host.calls.clear()
    again = run(host, DEMO)
    assert not again.changed and again.operations == [] and again.restart_required == []
    assert host.ops() == []


def test_check_mode_writes_nothing_and_lists_the_same_operations(host: FakeSystemd) -> None:
    check = run(host, DEMO, check_mode=True)
    assert check.changed and not (host.root / DROPIN).exists() and host.ops() == []
    assert check.result()["diff"]["after"]["background/demo"]["policies"]["oom_score_adj"] == "300"
    # the groups as they would be, the same as a real run then reports
    assert check.result()["groups"] == run(host, DEMO).result()["groups"]
    assert run(host, DEMO, check_mode=True).operations == []


def test_inactive_unit_gets_its_dropin_but_no_live_change_or_restart(tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path)
    fake.add_unit("pg-demo.service", active=False)
    outcome = run(fake, DEMO)
    assert [op.op for op in outcome.applied] == ["write_dropin", "daemon_reload"]
    assert outcome.restart_required == []


def test_runtime_drift_is_repaired_without_touching_files(host: FakeSystemd) -> None:
    run(host, DEMO)
    (host.root / "sys/fs/cgroup/system.slice/pg-demo.service/memory.swap.max").write_text("max\n")
    check = run(host, DEMO, check_mode=True)
    assert [op.to_dict() for op in check.operations] == [{
        "op": "set_runtime", "group": "background/demo", "key": "pg-demo.service",
        "before": {"MemorySwapMax": "max"}, "after": {"MemorySwapMax": "0"}}]
    fixed = run(host, DEMO)
    assert fixed.changed and fixed.restart_required == [] and host.live("pg-demo.service", "memory.swap.max") == "0"


def test_changed_exec_value_rewrites_and_asks_for_restart_or_restarts(host: FakeSystemd) -> None:
    run(host, DEMO)
    changed = [DEMO[0], {**DEMO[1], "oom_score_adj": 100}]
    outcome = run(host, changed)
    assert [op.op for op in outcome.applied] == ["write_dropin", "daemon_reload"]
    assert outcome.restart_required == ["pg-demo.service"]
    restarted = run(host, [DEMO[0], {**DEMO[1], "oom_score_adj": 200}], restart_units=True)
    assert [op.op for op in restarted.applied] == ["write_dropin", "daemon_reload", "restart"]
    assert restarted.restart_required == [] and ["try-restart", "--", "pg-demo.service"] in host.calls


def test_removal_puts_the_units_own_live_value_back(host: FakeSystemd) -> None:
    run(host, DEMO)
    outcome = run(host, [], purge=True)
    assert [op.op for op in outcome.applied] == ["remove_dropin", "daemon_reload", "reset_runtime"]
    assert not (host.root / DROPIN).exists() and not (host.root / DROPIN).parent.exists()
    assert host.live("pg-demo.service", "memory.swap.max") == "max"
    assert not (host.root / "run/systemd/system.control/pg-demo.service.d/50-MemorySwapMax.conf").exists()
    assert outcome.restart_required == ["pg-demo.service"]


def test_without_purge_unnamed_groups_stay_and_absent_removes(host: FakeSystemd) -> None:
    run(host, DEMO)
    assert run(host, [{"name": "other"}]).operations == []
    assert (host.root / DROPIN).exists()
    gone = run(host, [{"name": "demo", "state": "absent"}])
    assert [op.op for op in gone.applied][:2] == ["remove_dropin", "daemon_reload"]


def test_purge_never_touches_files_without_the_marker(host: FakeSystemd) -> None:
    foreign = host.root / "etc/systemd/system/pg-demo.service.d/50-policygroups-mine.conf"
    foreign.parent.mkdir(parents=True)
    foreign.write_text("[Service]\nOOMScoreAdjust=-1000\n")
    assert run(host, [], purge=True).operations == []
    assert foreign.exists()


def test_parent_change_rewrites_the_same_file(host: FakeSystemd) -> None:
    run(host, DEMO)
    moved = run(host, [{"name": "demo", "oom_score_adj": 300, "members": {"systemd_units": ["pg-demo.service"]}}])
    assert [op.op for op in moved.applied][:2] == ["write_dropin", "daemon_reload"]
    assert (host.root / DROPIN).read_text().startswith("# policygroups.core group=demo\n")


# -- unsupported ---------------------------------------------------------------------------------------------
def test_swap_tiers_fail_before_any_write(host: FakeSystemd) -> None:
    doc = [{"name": "latency", "swap": {"tiers": ["fast"]}, "members": {"systemd_units": ["pg-demo.service"]}}]
    with pytest.raises(UnsupportedPolicyError) as raised:
        run(host, doc)
    assert [f.to_dict()["policy"] for f in raised.value.findings] == ["swap_tiers"]
    assert "swap tier selection (fast) does not exist in mainline kernels" in str(raised.value)
    assert "nothing was changed" in str(raised.value)
    assert host.ops() == [] and not (host.root / "etc/systemd/system/pg-demo.service.d").exists()


def test_warn_leaves_out_what_cannot_be_expressed_and_applies_the_rest(host: FakeSystemd) -> None:
    doc = [
        {"name": "background", "thp": "never", "ksm": True},
        {"name": "demo", "parent": "background", "oom_score_adj": 1, "members": {"systemd_units": ["pg-demo.service"]}},
    ]
    outcome = run(host, doc, unsupported="warn")
    assert [(f.group, f.policy) for f in outcome.unsupported] == [("background", "thp")]
    text = (host.root / DROPIN).read_text()
    assert "MemoryKSM=yes" in text and "OOMScoreAdjust=1" in text and "MemoryTHP" not in text
    assert outcome.result()["unsupported"][0]["reason"].startswith("systemd 257")


@pytest.mark.parametrize("groups, expected", [
    ([{"name": "a", "members": {"pids": [1]}}], [("a", "members.pids")]),
    ([{"name": "a", "members": {"cgroups": ["/system.slice/x.service"]}}], [("a", "members.cgroups")]),
    ([{"name": "a", "thp": "always"}], [("a", "thp")]),
    ([{"name": "a", "mem_priority": "low", "members": {"systemd_units": ["pg-demo.service"]}},
      {"name": "b", "parent": "a"}], [("a", "mem_priority")]),
    ([{"name": "a", "ksm": True}, {"name": "b", "parent": "a", "mem_priority": "high"}], [("a/b", "mem_priority")]),
    ([{"name": "a", "zswap_writeback": False}, {"name": "b", "parent": "a", "zswap_writeback": True}], [("a/b", "zswap_writeback")]),
    ([{"name": "a", "oom_score_adj": 5, "members": {"systemd_units": ["work.slice"]}}], [("a", "members.systemd_units")]),
    ([{"name": "p", "ksm": True}, {"name": "a", "parent": "p", "members": {"systemd_units": ["x.scope"]}}],
     [("p/a", "members.systemd_units")]),
])
def test_each_unsupported_kind_is_named(tmp_path: Path, groups: list[dict[str, Any]], expected: list[tuple[str, str]]) -> None:
    fake = FakeSystemd(tmp_path, properties=DEFAULT_PROPERTIES + ("MemoryTHP",))
    with pytest.raises(UnsupportedPolicyError) as raised:
        run(fake, groups)
    assert [(f.group, f.policy) for f in raised.value.findings] == expected


def test_mem_priority_fails_before_any_write_with_the_reason(host: FakeSystemd) -> None:
    doc = [{**DEMO[0], "mem_priority": "low"}, DEMO[1]]
    with pytest.raises(UnsupportedPolicyError) as raised:
        run(host, doc)
    assert [f.to_dict() for f in raised.value.findings] == [
        {"group": "background", "policy": "mem_priority", "reason": MEM_PRIORITY_REASON}]
    assert "nothing was changed" in str(raised.value)
    assert host.ops() == [] and not (host.root / DROPIN).exists()


def test_mem_priority_dropped_the_rest_applied_and_a_second_run_changes_nothing(host: FakeSystemd) -> None:
    doc = [{**DEMO[0], "mem_priority": "low"}, DEMO[1]]
    check = run(host, doc, unsupported="warn", check_mode=True)
    assert [(f.group, f.policy) for f in check.unsupported] == [("background", "mem_priority")]
    assert not (host.root / DROPIN).exists()
    outcome = run(host, doc, unsupported="warn")
    assert [op.to_dict() for op in outcome.applied] == [op.to_dict() for op in check.operations]
    assert [op.op for op in outcome.applied] == ["write_dropin", "daemon_reload", "set_runtime"]
    # exactly the drop-in of the document without mem_priority: nothing stands in for it
    assert (host.root / DROPIN).read_text().endswith("[Service]\nMemoryKSM=yes\nMemorySwapMax=0\nOOMScoreAdjust=300\n")
    assert outcome.result()["unsupported"] == [
        {"group": "background", "policy": "mem_priority", "reason": MEM_PRIORITY_REASON}]
    again = run(host, doc, unsupported="warn")
    assert not again.changed and again.operations == []
    assert [(f.group, f.policy) for f in again.unsupported] == [("background", "mem_priority")]


def test_unit_without_a_readable_cgroup_file_is_not_compared(host: FakeSystemd) -> None:
    run(host, DEMO)
    (host.root / "sys/fs/cgroup/system.slice/pg-demo.service/memory.swap.max").unlink()
    assert run(host, DEMO).operations == []


def test_warn_on_a_slice_member_keeps_exec_values_for_the_groups_services(host: FakeSystemd) -> None:
    doc = [{"name": "a", "oom_score_adj": 7, "swap": {"enabled": False},
            "members": {"systemd_units": ["pg-demo.service", "work.slice"]}}]
    outcome = run(host, doc, unsupported="warn")
    assert [(f.group, f.policy) for f in outcome.unsupported] == [("a", "members.systemd_units")]
    service = (host.root / "etc/systemd/system/pg-demo.service.d/50-policygroups-a.conf").read_text()
    slice_ = (host.root / "etc/systemd/system/work.slice.d/50-policygroups-a.conf").read_text()
    assert "OOMScoreAdjust=7" in service and "[Slice]\nMemorySwapMax=0\n" in slice_ and "OOMScoreAdjust" not in slice_


def test_thp_and_numa_map_when_systemd_has_them(tmp_path: Path) -> None:
    fake = FakeSystemd(tmp_path, properties=DEFAULT_PROPERTIES + ("MemoryTHP",))
    fake.add_unit("pg-demo.service")
    run(fake, [{"name": "a", "thp": "madvise", "numa": {"mode": "bind", "nodes": "0"},
                "members": {"systemd_units": ["pg-demo.service"]}}])
    text = (tmp_path / "etc/systemd/system/pg-demo.service.d/50-policygroups-a.conf").read_text()
    assert "MemoryTHP=madvise\nNUMAMask=0\nNUMAPolicy=bind\n" in text


# -- document errors -----------------------------------------------------------------------------------------
def test_a_unit_in_two_groups_is_refused(host: FakeSystemd) -> None:
    units = {"systemd_units": ["pg-demo.service"]}
    with pytest.raises(PlanError, match="member of both 'a' and 'b'"):
        run(host, [{"name": "a", "members": units}, {"name": "b", "members": units}])


def test_a_parent_outside_the_document_is_refused(host: FakeSystemd) -> None:
    run(host, DEMO)
    backend = backend_for(host)
    with pytest.raises(PlanError, match="parent 'background' must be in the same document"):
        reconcile(backend, lambda _a: normalize({"policy_groups": [DEMO[1]]}, existing={"background": "background"}),
                  lock_path=str(host.root / "lock"))


def test_bad_unsupported_choice(host: FakeSystemd) -> None:
    with pytest.raises(ValueError):
        run(host, DEMO, unsupported="ignore")


# -- failures while applying ---------------------------------------------------------------------------------
def test_failed_reload_stops_and_reports_what_was_applied(host: FakeSystemd) -> None:
    host.fail["daemon-reload"] = (1, "Access denied")
    outcome = run(host, DEMO)
    assert not outcome.ok and outcome.failed is not None and outcome.failed.op == "daemon_reload"
    assert [op.op for op in outcome.applied] == ["write_dropin"]
    assert "Access denied" in (outcome.error or "")
    assert outcome.result()["failed_operation"]["op"] == "daemon_reload"


def test_failed_set_property_is_reported(host: FakeSystemd) -> None:
    host.fail["set-property"] = (1, "Unit pg-demo.service not loaded.")
    outcome = run(host, DEMO)
    assert outcome.failed is not None and outcome.failed.op == "set_runtime" and "not loaded" in (outcome.error or "")


def test_unwritable_unit_directory_is_a_backend_error(host: FakeSystemd, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "mkdir", refuse)
    outcome = run(host, DEMO)
    assert outcome.failed is not None and outcome.failed.op == "write_dropin"
    assert outcome.error == "cannot write /etc/systemd/system/pg-demo.service.d/50-policygroups-demo.conf: Permission denied"


def reconcile_with_read_failing_once_written(host: FakeSystemd, monkeypatch: pytest.MonkeyPatch, error: str) -> Outcome[Any]:
    """Reconcile DEMO with a drop-in store that cannot be read any more once the demo drop-in exists."""
    backend = backend_for(host)
    read_all = backend.store.read_all

    def fails_once_written() -> dict[str, list[Dropin]]:
        if (host.root / DROPIN).exists():
            raise BackendError(error, 5)
        return read_all()

    monkeypatch.setattr(backend.store, "read_all", fails_once_written)
    return reconcile(backend, lambda _actual: normalize({"policy_groups": DEMO}),
                     lock_path=str(host.root / "lock"))


def test_a_failed_read_after_applying_still_reports_what_was_applied(host: FakeSystemd, monkeypatch: pytest.MonkeyPatch) -> None:
    # the drop-in, the reload and the live value are in place when the store cannot be listed any more
    outcome = reconcile_with_read_failing_once_written(
        host, monkeypatch, "cannot list /etc/systemd/system/pg-demo.service.d: Input/output error")
    assert not outcome.ok and outcome.changed and outcome.failed is None
    result = outcome.result()
    assert result["changed"] is True
    assert [op["op"] for op in result["applied"]] == ["write_dropin", "daemon_reload", "set_runtime"]
    assert result["msg"] == ("3 operation(s) applied, but reading the host afterwards failed: "
                             "cannot list /etc/systemd/system/pg-demo.service.d: Input/output error")
    assert list(result["diff"]["after"]) == ["background/demo"]
    # the groups are projected from what was applied: what reading the host would have shown
    assert result["groups"] == run(host, DEMO).result()["groups"]
    assert result["groups"]["background/demo"]["members"]["systemd_units"] == ["pg-demo.service"]


def test_a_failed_operation_and_a_failed_read_are_both_reported(host: FakeSystemd, monkeypatch: pytest.MonkeyPatch) -> None:
    host.fail["set-property"] = (1, "Unit pg-demo.service not loaded.")
    outcome = reconcile_with_read_failing_once_written(host, monkeypatch, "cannot read the drop-ins: Input/output error")
    result = outcome.result()
    assert result["changed"] is True and result["failed_operation"]["op"] == "set_runtime"
    assert [op["op"] for op in result["applied"]] == ["write_dropin", "daemon_reload"]
    assert "not loaded" in result["msg"] and "reading the host afterwards failed" in result["msg"]
    assert result["groups"]["background/demo"]["policies"]["oom_score_adj"] == "300"


def test_unknown_operation(host: FakeSystemd) -> None:
    from ansible_collections.policygroups.core.plugins.module_utils._engine._plan import Operation

    with pytest.raises(BackendError, match="no operation 'create_group'"):
        backend_for(host).apply(Operation("create_group", "a"))


# -- drop-in store -------------------------------------------------------------------------------------------
def test_store_write_is_atomic_and_remove_checks_the_marker(tmp_path: Path) -> None:
    store = DropinStore(HostIO(str(tmp_path)))
    store.write(Dropin("x.service", "g", "# policygroups.core group=g\n[Service]\nOOMScoreAdjust=1\n"))
    directory = tmp_path / "etc/systemd/system/x.service.d"
    assert os.listdir(directory) == ["50-policygroups-g.conf"]
    assert store.read_all()["x.service"][0].properties() == {"OOMScoreAdjust": "1"}
    (directory / "50-policygroups-g.conf").write_text("[Service]\nOOMScoreAdjust=2\n")
    with pytest.raises(BackendError, match="no longer carries this collection's marker"):
        store.remove("x.service", "g")
    store.remove("y.service", "g")  # absent: nothing to do


def test_parse_show_splits_units() -> None:
    assert parse_show("A=1\nB=2\n\nA=3\nB=\n") == [{"A": "1", "B": "2"}, {"A": "3", "B": ""}]


# -- info ----------------------------------------------------------------------------------------------------
def test_info_reports_groups_units_and_what_cannot_be_expressed(host: FakeSystemd) -> None:
    run(host, DEMO)
    info, state = host_info(backend_for(host), HostIO(str(host.root)))
    assert state is not None and info["available"] and info["backend"] == "systemd"
    assert info["systemd_version"] == "systemd 257 (257.9-1)"
    assert info["groups"]["background/demo"]["members"]["systemd_units"] == ["pg-demo.service"]
    assert info["groups"]["background/demo"]["effective"]["swap_tiers"] == "none"
    assert set(info["unsupported"]) == {"thp", "mem_priority", "swap_tiers.tiers", "members.pids", "members.cgroups"}
    assert info["unsupported"]["mem_priority"] == MEM_PRIORITY_REASON
    assert "mem_priority" not in info["features"]
    assert info["groups"]["background/demo"]["policies"]["mem_priority"] == "inherit"


def test_stats_are_refused_pointing_to_the_cgroups_memory_stat(host: FakeSystemd) -> None:
    run(host, DEMO)
    backend = backend_for(host)
    info, state = host_info(backend, HostIO(str(host.root)))
    assert state is not None
    with pytest.raises(UnsupportedError) as refused:
        add_stats(backend, info, state)
    assert str(refused.value).startswith("stats: mainline kernels have no per-policy-group statistics")
    assert "memory.stat" in str(refused.value) and "ControlGroup" in str(refused.value)
    assert all("stats" not in group for group in info["groups"].values())


def test_policy_groups_info_with_stats_fails_on_the_systemd_backend(
        host: FakeSystemd, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    run(host, DEMO)
    monkeypatch.setattr(_probe, "backend_from", lambda params, module=None: backend_for(host))
    for stats, failed in ((False, False), (True, True)):
        with patch_module_args({"host_root": str(host.root), "stats": stats}), pytest.raises(SystemExit):
            policy_groups_info.main()
        result = json.loads(capsys.readouterr().out)
        assert bool(result.get("failed")) is failed
        assert result["policy_groups_info"]["backend"] == "systemd"
    assert result["msg"].startswith("stats: mainline kernels have no per-policy-group statistics")
    assert "/sys/fs/cgroup/<ControlGroup>/memory.stat" in result["msg"]


def test_a_backend_without_a_runner_is_unavailable_and_says_why(host: FakeSystemd) -> None:
    caps = SystemdBackend(root=str(host.root)).probe()
    assert not caps.available
    names = ("OOMScoreAdjust", "MemoryKSM", "MemoryTHP", "NUMAPolicy", "NUMAMask", "MemoryZSwapWriteback", "MemorySwapMax")
    probe = " ".join(f"--property={name}" for name in names)
    assert caps.reason == (
        f"the systemd backend is not available on this host: probing unit properties failed: systemctl show {probe} "
        "-- policygroups-probe.service: no way to run systemctl was given to the systemd backend")


# -- a run interrupted between writing drop-ins and daemon-reload ---------------------------------------------
def interrupted_before_reload(host: FakeSystemd, groups: list[dict[str, Any]]) -> None:
    """A run that wrote its drop-ins and died before ``daemon-reload`` (systemd still has the old values)."""
    host.fail["daemon-reload"] = (1, "killed")
    failed = run(host, groups)
    assert failed.failed is not None and failed.failed.op == "daemon_reload"
    del host.fail["daemon-reload"]
    host.calls.clear()


def test_a_later_run_finishes_a_run_interrupted_before_daemon_reload(host: FakeSystemd) -> None:
    interrupted_before_reload(host, DEMO)
    assert host.configured["pg-demo.service"]["OOMScoreAdjust"] == "0"
    check = run(host, DEMO, check_mode=True)
    assert [op.op for op in check.operations] == ["daemon_reload", "set_runtime"]
    assert check.restart_required == ["pg-demo.service"] and host.ops() == []
    finished = run(host, DEMO)
    assert finished.changed and [op.op for op in finished.applied] == ["daemon_reload", "set_runtime"]
    assert finished.restart_required == ["pg-demo.service"]
    assert host.configured["pg-demo.service"]["OOMScoreAdjust"] == "300"
    assert host.live("pg-demo.service", "memory.swap.max") == "0"
    again = run(host, DEMO)
    assert not again.changed and again.restart_required == []


def test_an_interrupted_run_is_finished_with_the_restart_it_owed(host: FakeSystemd) -> None:
    interrupted_before_reload(host, DEMO)
    finished = run(host, DEMO, restart_units=True)
    assert [op.op for op in finished.applied] == ["daemon_reload", "set_runtime", "restart"]
    assert ["try-restart", "--", "pg-demo.service"] in host.calls


def test_an_edit_outside_our_dropin_does_not_make_a_run_reload(host: FakeSystemd) -> None:
    run(host, DEMO)
    host.calls.clear()
    other = host.root / "etc/systemd/system/pg-demo.service.d/10-local.conf"
    other.write_text("[Service]\nNice=5\n")
    host.configured["pg-demo.service"]["Nice"] = "0"  # loaded before the edit: systemd would say NeedDaemonReload
    again = run(host, DEMO)
    assert not again.changed and host.ops() == []


def test_store_fsyncs_the_file_and_its_directory_after_the_rename_and_the_unlink(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append("dir" if os.path.isdir(f"/proc/self/fd/{fd}") else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = DropinStore(HostIO(str(tmp_path)))
    store.write(Dropin("x.service", "g", "# policygroups.core group=g\n[Service]\nOOMScoreAdjust=1\n"))
    assert synced == ["file", "dir"]
    store.remove("x.service", "g")
    assert synced == ["file", "dir", "dir"]


def test_store_never_writes_through_a_linked_unit_directory(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    (tmp_path / "etc/systemd/system/x.service.d").symlink_to(outside)
    store = DropinStore(HostIO(str(tmp_path)))
    with pytest.raises(BackendError, match="cannot write /etc/systemd/system/x.service.d/50-policygroups-g.conf"):
        store.write(Dropin("x.service", "g", "# policygroups.core group=g\n[Service]\nOOMScoreAdjust=1\n"))
    assert list(outside.iterdir()) == []


def test_store_refuses_a_link_in_the_dropins_place(tmp_path: Path) -> None:
    """A symbolic link where our drop-in goes is neither followed nor silently replaced: the write fails naming
    the file, and the link and its target stay as they were."""
    target = tmp_path / "elsewhere.conf"
    target.write_text("keep\n")
    unit_dir = tmp_path / "etc/systemd/system/x.service.d"
    unit_dir.mkdir(parents=True)
    (unit_dir / "50-policygroups-g.conf").symlink_to(target)
    store = DropinStore(HostIO(str(tmp_path)))
    with pytest.raises(BackendError, match="cannot write /etc/systemd/system/x.service.d/50-policygroups-g.conf"):
        store.write(Dropin("x.service", "g", "# policygroups.core group=g\n[Service]\nOOMScoreAdjust=1\n"))
    assert (unit_dir / "50-policygroups-g.conf").is_symlink() and target.read_text() == "keep\n"
    assert sorted(p.name for p in unit_dir.iterdir()) == ["50-policygroups-g.conf"]


# --- members systemd does not know: the contract both backends share (missing_members) ---------------------------

UNKNOWN = [{"name": "demo", "oom_score_adj": 300, "members": {"systemd_units": ["apii.service", "pg-demo.service"]}}]


def known_to(fake: FakeSystemd) -> Any:
    """The modules' resolver (systemctl show ControlGroup) against the fake: a unit it has, else None."""
    return lambda unit: f"/system.slice/{unit}" if unit in fake.units else None


def test_a_unit_systemd_does_not_know_is_refused_before_any_write(host: FakeSystemd) -> None:
    # as the policyfs backend refuses it (missing_members: fail): a misspelt unit must not get a drop-in of its own
    def files() -> list[str]:  # without the run's lock file
        return sorted(str(p) for p in host.root.rglob("*") if p.name != "lock")

    before = files()
    with pytest.raises(PlanError, match="systemd unit apii.service has no cgroup and will get none"):
        run(host, UNKNOWN, resolve_unit=known_to(host))
    assert files() == before


def test_a_unit_systemd_does_not_know_is_skipped_and_reported_with_skip(host: FakeSystemd) -> None:
    outcome = run(host, UNKNOWN, resolve_unit=known_to(host), missing="skip")
    assert outcome.failed is None and outcome.changed
    assert [s for s in outcome.skipped if "apii.service" in s], outcome.skipped
    assert (host.root / DROPIN).exists()
    assert not (host.root / "etc/systemd/system/apii.service.d").exists()


def test_an_absent_parent_takes_its_children_as_on_policyfs(host: FakeSystemd) -> None:
    # policyfs removes the subtree of a group marked absent; the systemd backend kept the children's drop-ins, with
    # values they had inherited from the parent that is gone (MemoryKSM=yes), and reported the child as a group
    host.add_unit("pg-bg.service")
    resolve = known_to(host)
    document = [{**DEMO[0], "members": {"systemd_units": ["pg-bg.service"]}}, DEMO[1]]
    assert run(host, document, resolve_unit=resolve).failed is None
    outcome = run(host, [{"name": "background", "state": "absent"}], resolve_unit=resolve)
    assert outcome.failed is None, outcome.error
    assert sorted(outcome.groups) == []
    assert not (host.root / DROPIN).exists()
    assert [o.op for o in outcome.applied].count("remove_dropin") == 2


# --- a run stopped between removing drop-ins and the reload: the next run finishes it ---------------------------


def test_a_removal_stopped_before_the_reload_is_finished_by_the_next_run(host: FakeSystemd) -> None:
    # the drop-in is gone, so neither what is wanted nor what is on disk names the unit any more; systemd still has
    # OOMScoreAdjust=300 loaded and the live memory.swap.max is still 0 (the service runs without swap)
    assert run(host, DEMO).failed is None
    assert host.live("pg-demo.service", "memory.swap.max") == "0"
    host.fail["daemon-reload"] = (1, "killed")
    failed = run(host, [], purge=True)
    assert failed.failed is not None and failed.failed.op == "daemon_reload"
    del host.fail["daemon-reload"]
    checked = run(host, [], purge=True, check_mode=True)
    assert [o.op for o in checked.operations] == ["daemon_reload", "reset_runtime"]
    again = run(host, [], purge=True)
    assert again.failed is None and [o.op for o in again.applied] == ["daemon_reload", "reset_runtime"]
    assert host.live("pg-demo.service", "memory.swap.max") == "max"
    assert not run(host, [], purge=True).changed


def test_properties_dropped_before_the_reload_are_finished_by_the_next_run(host: FakeSystemd) -> None:
    assert run(host, DEMO).failed is None
    fewer = [{"name": "background", "ksm": True}, {"name": "demo", "parent": "background",
                                                   "members": {"systemd_units": ["pg-demo.service"]}}]
    host.fail["daemon-reload"] = (1, "killed")
    assert run(host, fewer).failed is not None
    del host.fail["daemon-reload"]
    again = run(host, fewer)
    assert again.failed is None and [o.op for o in again.applied] == ["daemon_reload", "reset_runtime"]
    assert host.live("pg-demo.service", "memory.swap.max") == "max"
    assert not run(host, fewer).changed
