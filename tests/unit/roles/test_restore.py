"""The boot-time restore entry point (roles/policy_groups/files/policygroups-restore.py) on a simulated host.

The entry point imports the engine as the package ``policygroups_engine``, the way the role installs it on a
host; here that package is plugins/module_utils linked into a temporary directory.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "roles" / "policy_groups" / "files" / "policygroups-restore.py"
sys.path.insert(0, str(REPO / "tests" / "unit"))

from fakekernel import FakeKernel, HostSpec  # noqa: E402
from lockprobe import other_process_can_lock  # noqa: E402

DOC: dict[str, Any] = {
    "format": 1,
    "policy_root": "/sys/fs/cgroup/policy",
    "purge": False,
    "tiers_purge": True,
    "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
    "policy_groups": [
        {"name": "latency", "parent": None, "state": "present", "thp": "never", "swap": {"tiers": ["fast"]},
         "members": {"cgroups": ["/system.slice/api.service"], "systemd_units": ["db.service"], "pids": []}},
        {"name": "batch", "parent": "latency", "state": "present", "ksm": True, "oom_score_adj": 800,
         "members": {"cgroups": ["/batch.slice/late.service"], "systemd_units": [], "pids": []}},
    ],
}


@pytest.fixture
def restore(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    lib = tmp_path_factory.mktemp("lib")
    (lib / "policygroups_engine").symlink_to(REPO / "plugins" / "module_utils")
    sys.path.insert(0, str(lib))
    spec = importlib.util.spec_from_file_location("policygroups_restore", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield module
    sys.path.remove(str(lib))
    for name in [n for n in sys.modules if n == "policygroups_engine" or n.startswith("policygroups_engine.")]:
        del sys.modules[name]


@pytest.fixture
def host(tmp_path: Path, restore: ModuleType, monkeypatch: pytest.MonkeyPatch) -> FakeKernel:
    """A freshly booted simulated host: no groups, no tiers, the persisted document in /etc."""
    kernel = FakeKernel(tmp_path / "host", HostSpec(cgroups=("/system.slice", "/system.slice/api.service"),
                                                    swaps=(("/dev/zram0", 150),)))
    (tmp_path / "host" / "etc" / "policygroups").mkdir(parents=True)
    (tmp_path / "host" / "etc" / "policygroups" / "policy.json").write_text(json.dumps(DOC))
    import policygroups_engine._engine._backend as backend_mod
    import policygroups_engine._policyfs._backend_policyfs as policyfs

    def make_backend(name: str = "auto", root: str = "/", policy_root: str = "") -> Any:
        assert root == str(tmp_path / "host") and policy_root == "/sys/fs/cgroup/policy"
        return policyfs.PolicyfsBackend(io=kernel, policy_root=policy_root)

    monkeypatch.setattr(backend_mod, "make_backend", make_backend)
    units = {"db.service": {"LoadState": "loaded", "ActiveState": "inactive", "ControlGroup": "",
                            "Slice": "system.slice"}}
    monkeypatch.setattr(restore, "systemctl_show", lambda unit: units.get(unit, {}))
    return kernel


def run(restore: ModuleType, host: FakeKernel, *extra: str) -> int:
    return int(restore.main(["--root", host.root, "--document", "/etc/policygroups/policy.json", *extra]))


def test_restores_tiers_groups_policies_and_bindings(restore: ModuleType, host: FakeKernel,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert run(restore, host) == 0
    assert [(t.name, t.start_priority) for t in host.tiers()] == [("fast", 100), ("slow", -1)]
    assert host.groups() == ["latency", "latency/batch"]
    assert host.value("latency", "thp") == "never" and host.value("latency", "swap_tiers") == "fast"
    assert host.value("latency/batch", "ksm") == "1" and host.value("latency/batch", "oom_score_adj") == "800"
    # a bound path whose service has not started yet, and a unit resolved through its slice, are created
    assert host.bindings("latency") == ["/system.slice/api.service", "/system.slice/db.service"]
    assert host.bindings("latency/batch") == ["/batch.slice/late.service"]
    assert "applied" in capsys.readouterr().err


def test_second_run_changes_nothing(restore: ModuleType, host: FakeKernel, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(restore, host) == 0
    capsys.readouterr()
    writes = len(host.writes)
    assert run(restore, host) == 0
    assert len(host.writes) == writes
    assert "applied 0 operation(s)" in capsys.readouterr().err


def test_check_mode_writes_nothing(restore: ModuleType, host: FakeKernel, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(restore, host, "--check") == 0
    assert host.groups() == [] and host.writes == []
    assert "would create_group latency" in capsys.readouterr().err


def test_missing_or_foreign_document(restore: ModuleType, host: FakeKernel, tmp_path: Path) -> None:
    assert restore.main(["--root", host.root, "--document", "/etc/none.json"]) == 2
    (tmp_path / "host" / "etc" / "other.json").write_text(json.dumps({"format": 99}))
    assert restore.main(["--root", host.root, "--document", "/etc/other.json"]) == 2


def test_kernel_refusal_is_reported(restore: ModuleType, host: FakeKernel, capsys: pytest.CaptureFixture[str]) -> None:
    host.fail_next["latency/policy.thp"] = 22
    assert run(restore, host) == 1
    assert "stopped at" in capsys.readouterr().err


def test_unit_resolver_prefers_running_cgroup(restore: ModuleType, tmp_path: Path) -> None:
    shown = {"a.service": {"LoadState": "loaded", "ActiveState": "active", "ControlGroup": "/custom.slice/a.service"},
             "gone.service": {"LoadState": "not-found", "ActiveState": "inactive", "ControlGroup": ""}}
    resolve = restore.make_unit_resolver(str(tmp_path), "/sys/fs/cgroup", True, lambda u: shown.get(u, {}))
    assert resolve("a.service") == "/custom.slice/a.service"
    assert resolve("unknown.service") is None  # systemctl gave no answer
    assert resolve("gone.service") is None
    assert not (tmp_path / "sys").exists()


def test_unit_resolver_template_instance_gets_its_template_slice(restore: ModuleType, tmp_path: Path) -> None:
    """The same rule as at run time: an instance that has not started goes to system-<template>.slice."""
    shown = {"report@1.service": {"LoadState": "loaded", "ActiveState": "inactive", "ControlGroup": "",
                                  "Slice": "system-report.slice"}}
    resolve = restore.make_unit_resolver(str(tmp_path), "/sys/fs/cgroup", True, lambda u: shown.get(u, {}))
    path = "/system.slice/system-report.slice/report@1.service"
    assert resolve("report@1.service") == path
    assert (tmp_path / "sys" / "fs" / "cgroup" / path.lstrip("/")).is_dir()


# -- the whole document is validated, strictly typed, before anything is done -----------------------------------
def write_doc(tmp_path: Path, doc: dict[str, Any]) -> None:
    (tmp_path / "host" / "etc" / "policygroups" / "policy.json").write_text(json.dumps(doc))


def with_group_change(**change: Any) -> dict[str, Any]:
    return {**DOC, "policy_groups": [{**DOC["policy_groups"][0], **change}, DOC["policy_groups"][1]]}


@pytest.mark.parametrize(("doc", "named"), [
    ({**DOC, "purge": "false"}, "purge: expected true or false, got 'false'"),
    ({**DOC, "tiers_purge": "no"}, "tiers_purge: expected true or false, got 'no'"),
    ({**DOC, "policy_root": 5}, "policy_root: expected an absolute path"),
    ({**DOC, "policy_groups": "latency"}, "policy_groups: expected a list of groups"),
    ({**DOC, "policy_swap_tiers": {"fast": 100}}, "policy_swap_tiers: expected a list"),
    (with_group_change(oom_score_adj="5"), "policy_groups[0].oom_score_adj: '5' is not an integer"),
    (with_group_change(members={"cgroups": "/system.slice/api.service"}), "policy_groups[0].members.cgroups: expected a list"),
    (with_group_change(members={"cgroups": ["/../../../outside"]}), "policy_groups[0].members.cgroups[0]"),
    (with_group_change(members={"pids": [True]}), "policy_groups[0].members.pids[0]"),
    ({**DOC, "unexpected": 1}, "unknown key(s) unexpected"),
])
def test_a_malformed_document_exits_2_before_touching_the_host(
        restore: ModuleType, host: FakeKernel, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        doc: dict[str, Any], named: str) -> None:
    write_doc(tmp_path, doc)
    cgroups_before = sorted(p for p in (tmp_path / "host" / "sys" / "fs" / "cgroup").rglob("*") if p.is_dir())
    assert run(restore, host) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err
    assert host.writes == [] and host.groups() == []
    # no cgroup directory was created from the raw document, inside the root or outside it
    assert sorted(p for p in (tmp_path / "host" / "sys" / "fs" / "cgroup").rglob("*") if p.is_dir()) == cgroups_before
    assert not (tmp_path / "outside").exists()


def test_purge_false_keeps_unlisted_groups(restore: ModuleType, host: FakeKernel, tmp_path: Path) -> None:
    host.mkdir("/sys/fs/cgroup/policy/local")
    write_doc(tmp_path, {**DOC, "purge": False})
    assert run(restore, host) == 0
    assert "local" in host.groups()
    write_doc(tmp_path, {**DOC, "purge": True})
    assert run(restore, host) == 0
    assert "local" not in host.groups()


def test_tiers_purge_false_keeps_the_hosts_other_tiers(restore: ModuleType, host: FakeKernel, tmp_path: Path) -> None:
    host.write("/sys/kernel/mm/swap/tiers", "+fast:100,+zram:50,+slow:-1")
    write_doc(tmp_path, {**DOC, "tiers_purge": False})
    assert run(restore, host) == 0
    assert [(t.name, t.start_priority) for t in host.tiers()] == [("fast", 100), ("zram", 50), ("slow", -1)]
    write_doc(tmp_path, {**DOC, "tiers_purge": True})
    assert run(restore, host) == 0
    assert [(t.name, t.start_priority) for t in host.tiers()] == [("fast", 100), ("slow", -1)]


def test_the_document_is_read_under_the_host_lock(restore: ModuleType, host: FakeKernel,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A converge run that persists a new document and applies it while the restore waits for the lock must not
    be undone by the restore applying the document it read before: it reads the document under the lock."""
    lock = str(Path(host.root) / "run" / "policygroups.lock")
    seen: list[str] = []
    load_document = restore.load_document

    def load(path: str) -> Any:
        seen.append("locked" if other_process_can_lock(lock, shared=True) else "blocked")
        return load_document(path)

    monkeypatch.setattr(restore, "load_document", load)
    assert run(restore, host) == 0
    assert seen == ["blocked"] and host.groups() == ["latency", "latency/batch"]
