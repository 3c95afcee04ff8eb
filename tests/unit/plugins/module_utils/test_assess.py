"""The assessment's host readers (_assess) on fake /sys/fs/cgroup and /proc trees, and the module around them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.policygroups.core.plugins.module_utils._assess import _assess
from ansible_collections.policygroups.core.plugins.module_utils._assess._assess import assess_host, memory_settings
from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO
from ansible_collections.policygroups.core.plugins.modules import policy_groups_assess

SHOW = """Id=db.service
LoadState=loaded
ActiveState=active
Transient=no
ControlGroup=/system.slice/db.service
Slice=system.slice
MainPID=612
NeedDaemonReload=no
FragmentPath=/etc/systemd/system/db.service
DropInPaths=
OOMScoreAdjust=-800
MemorySwapMax=0
MemoryZSwapWriteback=yes
MemoryKSM=no
MemoryLow=0
MemoryHigh=infinity
MemoryMax=infinity

Id=plain.service
LoadState=loaded
ActiveState=active
ControlGroup=/system.slice/plain.service
MainPID=700
NeedDaemonReload=no
OOMScoreAdjust=0
MemorySwapMax=infinity

Id=edited.service
LoadState=loaded
ActiveState=inactive
ControlGroup=
NeedDaemonReload=yes
OOMScoreAdjust=0

Id=gone.service
LoadState=not-found
OOMScoreAdjust=500
"""


def write(root: Path, path: str, text: str) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)


def host_tree(root: Path) -> Path:
    cg = "/sys/fs/cgroup"
    write(root, f"{cg}/cgroup.controllers", "cpu memory\n")
    for path in ("/system.slice", "/system.slice/db.service", "/system.slice/plain.service", "/batch.slice",
                 "/batch.slice/report.service"):
        for name, value in _assess.MEMORY_FILES.items():
            write(root, f"{cg}{path}/{name}", value + "\n")
    write(root, f"{cg}/system.slice/db.service/memory.swap.max", "0\n")
    write(root, f"{cg}/batch.slice/memory.swap.max", "0\n")
    write(root, f"{cg}/batch.slice/memory.high", "1073741824\n")
    swaps = "Filename\tType\tSize\tUsed\tPriority\n/dev/vda3 partition\t1048572\t12\t-2\n" \
        "/dev/zram0 partition\t524284\t0\t100\n"
    write(root, "/proc/swaps", swaps)
    write(root, "/proc/612/oom_score_adj", "-800\n")
    write(root, "/sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n")
    write(root, "/proc/sys/vm/swappiness", "60\n")
    (root / "run/systemd/system").mkdir(parents=True)
    return root


class FakeSystemctl:
    def __init__(self, out: str = SHOW, rc: int = 0) -> None:
        self.out, self.rc = out, rc
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        return self.rc, self.out if self.rc == 0 else "", "" if self.rc == 0 else "Failed to connect to bus"


def test_reads_cgroups_units_swap_and_globals_with_one_systemctl_call(tmp_path: Path) -> None:
    systemctl = FakeSystemctl()
    result = assess_host(HostIO(str(host_tree(tmp_path))), systemctl)
    assert result["cgroup_v2"] is True and result["errors"] == []
    assert result["cgroups"] == {
        "/batch.slice": {"memory.swap.max": "0", "memory.high": "1073741824"},
        "/batch.slice/report.service": {},
        "/system.slice": {},
        "/system.slice/db.service": {"memory.swap.max": "0"},
        "/system.slice/plain.service": {},
    }
    assert result["memory_files_seen"] == sorted(_assess.MEMORY_FILES)
    assert len(systemctl.calls) == 1 and systemctl.calls[0][:2] == ["show", "--all"]  # inactive units too
    assert systemctl.calls[0][-len(_assess.UNIT_PATTERNS):] == list(_assess.UNIT_PATTERNS)
    # Only units with a memory setting, a non-default cgroup file or a pending reload; never unloaded ones.
    assert sorted(result["units"]) == ["db.service", "edited.service"]
    db = result["units"]["db.service"]
    assert db["settings"] == {"OOMScoreAdjust": "-800", "MemorySwapMax": "0"}
    assert db["running_oom_score_adj"] == "-800" and db["main_pid"] == 612
    assert result["units"]["edited.service"]["need_daemon_reload"] is True
    assert result["units_loaded"] == 3  # gone.service is not-found: listed by --all, not loaded
    assert result["swap_devices"] == [
        {"path": "/dev/vda3", "type": "partition", "size_kb": 1048572, "used_kb": 12, "priority": -2},
        {"path": "/dev/zram0", "type": "partition", "size_kb": 524284, "used_kb": 0, "priority": 100}]
    assert result["swap_tiers"] is None
    assert result["globals"]["thp_enabled"] == "always [madvise] never"
    assert result["globals"]["ksm_run"] is None


def test_swap_tiers_table_is_read(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    write(root, "/sys/kernel/mm/swap/tiers", "Name             Idx   PrioStart   PrioEnd\n"
                                             "fast             0     100         32767\nslow             1     -1          99\n")
    result = assess_host(HostIO(str(root)), None)
    assert result["swap_tiers"] == [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]


def test_no_cgroup_v2_is_reported_not_raised(tmp_path: Path) -> None:
    (tmp_path / "sys/fs/cgroup/unified").mkdir(parents=True)  # a v1 layout: no cgroup.controllers
    result = assess_host(HostIO(str(tmp_path)), None)
    assert result["cgroup_v2"] is False and result["cgroups"] == {}
    assert "no cgroup.controllers" in str(result["cgroup_v2_reason"])
    missing = assess_host(HostIO(str(tmp_path / "nothing")), None)
    assert missing["cgroup_v2"] is False and "does not exist" in str(missing["cgroup_v2_reason"])


def test_symlinks_in_the_tree_are_never_followed(tmp_path: Path) -> None:
    root = host_tree(tmp_path / "host")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "memory.swap.max").write_text("0\n")
    (outside / "secret.service").mkdir()
    cg = root / "sys/fs/cgroup"
    os.symlink(outside, cg / "evil.slice")  # a directory link: not walked
    os.unlink(cg / "system.slice/plain.service/memory.max")
    os.symlink(outside / "memory.swap.max", cg / "system.slice/plain.service/memory.max")  # a file link: refused
    os.unlink(root / "proc/612/oom_score_adj")
    os.symlink(outside / "memory.swap.max", root / "proc/612/oom_score_adj")
    result = assess_host(HostIO(str(root)), FakeSystemctl())
    assert "/evil.slice" not in result["cgroups"] and not any("secret" in p for p in result["cgroups"])
    assert result["cgroups"]["/system.slice/plain.service"] == {}
    refused = {e["path"]: e["error"] for e in result["errors"]}
    assert "symbolic link" in refused["/sys/fs/cgroup/system.slice/plain.service/memory.max"]
    assert "symbolic link" in refused["/proc/612/oom_score_adj"]
    assert result["units"]["db.service"]["running_oom_score_adj"] is None


def test_a_linked_cgroup_root_is_refused(tmp_path: Path) -> None:
    real = host_tree(tmp_path / "real")
    root = tmp_path / "host"
    (root / "sys/fs").mkdir(parents=True)
    os.symlink(real / "sys/fs/cgroup", root / "sys/fs/cgroup")
    result = assess_host(HostIO(str(root)), None)
    assert result["cgroup_v2"] is False and "symbolic link" in str(result["cgroup_v2_reason"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_files_are_listed_and_the_rest_is_read(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    target = root / "sys/fs/cgroup/system.slice/db.service/memory.swap.max"
    target.chmod(0)
    result = assess_host(HostIO(str(root)), None)
    assert result["errors"] == [{"path": "/sys/fs/cgroup/system.slice/db.service/memory.swap.max",
                                 "error": "Permission denied"}]
    assert result["cgroups"]["/batch.slice"]["memory.swap.max"] == "0"


def test_unreadable_files_are_listed_as_root_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An EACCES from the kernel (as root, e.g. a file a security module denies) is recorded the same way."""
    root = host_tree(tmp_path)
    real_read_at = _assess._read_at

    def read_at(dir_fd: int, name: str) -> str:
        if name == "memory.high":
            raise PermissionError(13, "Permission denied")
        return real_read_at(dir_fd, name)

    monkeypatch.setattr(_assess, "_read_at", read_at)
    result = assess_host(HostIO(str(root)), None)
    assert {e["path"] for e in result["errors"]} == {f"/sys/fs/cgroup{p}/memory.high" for p in result["cgroups"]}
    assert result["cgroups"]["/batch.slice"] == {"memory.swap.max": "0"}


def test_systemctl_failure_and_no_systemd_are_reasons(tmp_path: Path) -> None:
    root = host_tree(tmp_path)
    failed = assess_host(HostIO(str(root)), FakeSystemctl(rc=1))
    assert failed["systemd"] is False and "Failed to connect to bus" in str(failed["systemd_reason"])
    assert failed["units"] == {}
    (root / "run/systemd/system").rmdir()
    no_init = assess_host(HostIO(str(root)), FakeSystemctl())
    assert "not the running init system" in str(no_init["systemd_reason"])
    assert "host_root" in str(assess_host(HostIO(str(root)), None)["systemd_reason"])


def test_a_mount_inside_the_tree_is_not_walked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy hierarchy is mounted at /sys/fs/cgroup/policy: another file system, not part of cgroup v2."""
    root = host_tree(tmp_path)
    (root / "sys/fs/cgroup/policy/latency").mkdir(parents=True)
    real_fstat = os.fstat
    policy_ino = (root / "sys/fs/cgroup/policy").stat().st_ino

    class Other:
        def __init__(self, st: os.stat_result) -> None:
            self.st_dev = st.st_dev + 1
            self.st_ino = st.st_ino

    def fstat(fd: int) -> Any:
        st = real_fstat(fd)
        return Other(st) if st.st_ino == policy_ino else st

    monkeypatch.setattr(_assess.os, "fstat", fstat)
    result = assess_host(HostIO(str(root)), None)
    assert not any(p.startswith("/policy") for p in result["cgroups"])
    assert "/batch.slice" in result["cgroups"]


def test_cgroup_count_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_assess, "MAX_CGROUPS", 2)
    result = assess_host(HostIO(str(host_tree(tmp_path))), None)
    assert result["cgroups_truncated"] is True and len(result["cgroups"]) == 2


def test_memory_settings_keep_only_what_differs_from_unset() -> None:
    assert memory_settings({"OOMScoreAdjust": "0", "MemorySwapMax": "infinity", "MemoryKSM": "yes",
                            "MemoryHigh": "infinity", "MemoryLow": "", "MemoryZSwapWriteback": "no"}) \
        == {"MemoryKSM": "yes", "MemoryZSwapWriteback": "no"}


def test_module_reads_only_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = host_tree(tmp_path)
    before = sorted((p, p.stat().st_mtime_ns) for p in root.rglob("*"))
    args = {"host_root": str(root), "_ansible_check_mode": True}
    with patch_module_args(args), pytest.raises(SystemExit) as exit_info:
        policy_groups_assess.main()
    result = json.loads(capsys.readouterr().out)
    assert exit_info.value.code == 0 and result["changed"] is False
    assessment = result["assessment"]
    assert assessment["cgroups"]["/batch.slice"]["memory.swap.max"] == "0"
    # host_root re-roots files only: systemd is not asked, and the policy probe says why there are no groups.
    assert assessment["systemd"] is False and "host_root" in assessment["systemd_reason"]
    assert assessment["policy_groups_info"]["backend"] == "policyfs"
    assert assessment["policy_groups_info"]["available"] is False
    assert sorted((p, p.stat().st_mtime_ns) for p in root.rglob("*")) == before
