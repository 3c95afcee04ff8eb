"""The cgroup a systemd unit has, or will get: one rule for the modules and the boot-time restore."""

from __future__ import annotations

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._engine._unit_cgroup import (
    default_slice,
    is_unit_cgroup_path,
    slice_path,
    unit_cgroup,
)


@pytest.mark.parametrize(("slice_name", "path"), [
    ("system.slice", "/system.slice"), ("-.slice", ""), ("", ""),
    ("a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice"),
    ("system-report.slice", "/system.slice/system-report.slice"),
    ("system-foo\\x2dbar.slice", "/system.slice/system-foo\\x2dbar.slice"),
])
def test_slice_path(slice_name: str, path: str) -> None:
    assert slice_path(slice_name) == path


@pytest.mark.parametrize(("unit", "slice_name"), [
    ("nginx.service", "system.slice"),
    ("report@1.service", "system-report.slice"),
    ("postgresql@16-main.service", "system-postgresql.slice"),
    ("foo-bar@x.service", "system-foo\\x2dbar.slice"),
    ("user.slice", "-.slice"),
])
def test_default_slice(unit: str, slice_name: str) -> None:
    assert default_slice(unit) == slice_name


def shown(load: str = "loaded", active: str = "inactive", cgroup: str = "", slice_name: str = "") -> dict[str, str]:
    return {"LoadState": load, "ActiveState": active, "ControlGroup": cgroup, "Slice": slice_name}


@pytest.mark.parametrize(("unit", "props", "path"), [
    ("nginx.service", shown(active="active", cgroup="/system.slice/nginx.service", slice_name="system.slice"),
     "/system.slice/nginx.service"),
    ("api.service", shown(active="active", cgroup="/custom.slice/api.service", slice_name="custom.slice"),
     "/custom.slice/api.service"),
    # not running: where systemd will put it, from its Slice property
    ("backup.service", shown(slice_name="system.slice"), "/system.slice/backup.service"),
    ("report@1.service", shown(slice_name="system-report.slice"),
     "/system.slice/system-report.slice/report@1.service"),
    ("postgresql@16-main.service", shown(slice_name="system-postgresql.slice"),
     "/system.slice/system-postgresql.slice/postgresql@16-main.service"),
    ("job.service", shown(slice_name="batch-nightly.slice"), "/batch.slice/batch-nightly.slice/job.service"),
    # no Slice reported: systemd's default for system units
    ("report@2.service", shown(), "/system.slice/system-report.slice/report@2.service"),
    # never startable: no cgroup, ever
    ("typo.service", shown(load="not-found"), None),
    ("off.service", shown(load="masked", slice_name="system.slice"), None),
    ("broken.service", shown(load="bad-setting"), None),
])
def test_unit_cgroup(unit: str, props: dict[str, str], path: str | None) -> None:
    assert unit_cgroup(unit, props) == path


@pytest.mark.parametrize(("path", "expected"), [
    ("/system.slice/nginx.service", True),
    ("/system.slice/system-report.slice/report@1.service", True),
    ("/batch.slice/job.socket", True),
    ("/system.slice", False),             # a slice is created by systemd, not ahead of a unit
    ("/nginx.service", False),            # units live in slices
    ("/data/app", False),                 # a cgroup of someone else's: must exist
    ("/system.slice/app", False),
    ("/system.slice/x.timer", False),     # no cgroup of its own
    ("/system.slice//x.service", False),
    ("system.slice/x.service", False),
])
def test_is_unit_cgroup_path(path: str, expected: bool) -> None:
    assert is_unit_cgroup_path(path) is expected
