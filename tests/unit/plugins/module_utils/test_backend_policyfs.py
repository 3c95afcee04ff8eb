"""The policyfs backend against the simulated ABI: probe, read, every operation and every errno it maps."""

from __future__ import annotations

import errno as E
from pathlib import Path

import pytest
from fakekernel import STATS, FakeKernel, HostSpec, tiers_of

from ansible_collections.policygroups.core.plugins.module_utils._engine._backend import make_backend
from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import (
    BackendError,
    NotAvailableError,
    ProcessGoneError,
    UnsupportedError,
)
from ansible_collections.policygroups.core.plugins.module_utils._engine._plan import Operation

ROOT = "/sys/fs/cgroup/policy"


def host(tmp_path: Path, **spec: object) -> tuple[FakeKernel, PolicyfsBackend]:
    kernel = FakeKernel(tmp_path / "h", HostSpec(**spec))  # type: ignore[arg-type]
    return kernel, PolicyfsBackend(io=kernel)


# -- probe ---------------------------------------------------------------------------------------------------------
def test_probe_reports_abi_and_features(backend: PolicyfsBackend) -> None:
    caps = backend.require()
    assert caps.available and caps.abi_version == 1 and caps.tiers_supported
    assert caps.features == ("thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "mem_priority",
                             "stat", "bind")
    assert caps.kernel_release == "6.12.0-policy"


def test_stock_kernel_is_not_available_and_says_why(tmp_path: Path) -> None:
    backend = host(tmp_path, controller=False, mounted=False, tiers=False, release="6.1.0-28-amd64")[1]
    caps = backend.probe()
    assert not caps.available and not caps.tiers_supported
    assert caps.reason == (
        "policy groups are not available on this host: kernel 6.1.0-28-amd64 has no 'policy' cgroup controller "
        "(/proc/cgroups) and nothing is mounted at /sys/fs/cgroup/policy"
    )
    with pytest.raises(NotAvailableError, match="no 'policy' cgroup controller"):
        backend.require()


def test_controller_present_but_not_mounted(tmp_path: Path) -> None:
    backend = host(tmp_path, mounted=False)[1]
    with pytest.raises(NotAvailableError, match=r"has the 'policy' cgroup controller but nothing is mounted.*mount -t cgroup"):
        backend.require()


def test_unknown_abi_version_refused(tmp_path: Path) -> None:
    backend = host(tmp_path, abi_version=2)[1]
    assert backend.probe().available
    with pytest.raises(UnsupportedError, match="unsupported policy ABI version 2"):
        backend.require()


def test_auto_backend_probes(tmp_path: Path) -> None:
    host(tmp_path)
    assert make_backend("auto", root=str(tmp_path / "h")).probe().available
    with pytest.raises(NotAvailableError, match="unknown backend"):
        make_backend("cgroup2", root=str(tmp_path / "h"))


# -- read ----------------------------------------------------------------------------------------------------------
def test_read_state(tmp_path: Path) -> None:
    kernel, backend = host(
        tmp_path,
        initial_tiers=tiers_of([("fast", 100), ("slow", -1)]),
        swaps=(("/dev/zram0", 200), ("/dev/vdb", 5)),
        cgroup_pids={"/system.slice/api.service": (101,)},
    )
    kernel.mkdir(f"{ROOT}/bg")
    kernel.mkdir(f"{ROOT}/bg/batch")
    kernel.write(f"{ROOT}/bg/policy.thp", "never")
    kernel.write(f"{ROOT}/bg/batch/policy.swap.tiers", "slow,fast")
    kernel.write(f"{ROOT}/bg/batch/policy.bind", "+/system.slice/api.service")
    kernel.write(f"{ROOT}/bg/cgroup.procs", "100")
    kernel.write(f"{ROOT}/bg/policy.mem_priority", "low")
    assert backend.read_state().groups["bg/batch"].effective == {}
    state = backend.read_state(effective=True)
    assert list(state.groups) == ["bg", "bg/batch"]
    batch = state.groups["bg/batch"]
    assert batch.policies["swap_tiers"] == "fast slow" and batch.policies["thp"] == "inherit"
    assert batch.bindings == ("/system.slice/api.service",) and batch.pids == (101,)
    assert batch.effective["thp"] == "never" and batch.effective["ksm"] == "default"
    assert state.groups["bg"].policies["mem_priority"] == "low" and batch.policies["mem_priority"] == "inherit"
    assert batch.effective["mem_priority"] == "low"
    assert state.groups["bg"].pids == (100,)
    assert [(d.path, d.tier) for d in state.swap_devices] == [("/dev/zram0", "fast"), ("/dev/vdb", "slow")]
    assert state.online_nodes == (0, 1)


def test_missing_feature_files_are_not_read(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path, features=("thp", "oom_score_adj"))
    kernel.mkdir(f"{ROOT}/a")
    assert dict(backend.read_state().groups["a"].policies) == {"thp": "inherit", "oom_score_adj": "inherit"}


def test_read_stats(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path)
    kernel.mkdir(f"{ROOT}/a")
    kernel.mkdir(f"{ROOT}/a/b")
    kernel.spawn(200, "a/b")
    kernel.set_stats("a", {"oom_kill": 4, "swpout_fast": 10})
    stats = backend.read_stats(backend.require(), ["a", "a/b"])
    assert stats["a"].values == {**STATS, "oom_kill": 4, "swpout_fast": 10} and stats["a"].left_out == ()
    assert stats["a/b"].values == {**STATS, "members": 1}
    assert backend.read_stats(backend.require(), []) == {}


def test_read_stats_needs_the_feature_and_reads_nothing_without_it(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path, features=("thp", "bind"))
    kernel.mkdir(f"{ROOT}/a")
    with pytest.raises(UnsupportedError) as refused:
        backend.read_stats(backend.require(), ["a", "not-there"])
    assert str(refused.value) == (
        f"stats: this kernel has no policy.stat (feature 'stat' is not in {ROOT}/policy.features: thp bind)")


def test_read_stats_of_a_group_removed_meanwhile_names_it(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path)
    kernel.mkdir(f"{ROOT}/a")
    caps = backend.require()
    kernel.rmdir(f"{ROOT}/a")
    with pytest.raises(BackendError, match=r"^group 'a': cannot read .*/a/policy.stat: the group no longer exists"):
        backend.read_stats(caps, ["a"])


# -- operations ----------------------------------------------------------------------------------------------------
def test_every_operation_succeeds(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path, cgroup_pids={"/system.slice/api.service": (103,)})
    ops = [
        Operation("set_tiers", None, "tiers", (), tiers_of([("fast", 100), ("slow", -1)])),
        Operation("create_group", "a"),
        Operation("create_group", "a/b"),
        Operation("set_policy", "a", "swap_tiers", "inherit", "fast"),
        Operation("set_policy", "a/b", "numa", "inherit", "bind:0-1"),
        Operation("set_policy", "a", "mem_priority", "inherit", "high"),
        Operation("bind", "a", "bind", None, "/system.slice/api.service"),
        Operation("join_pid", "a/b", "cgroup.procs", None, 100),
    ]
    for op in ops:
        backend.apply(op)
    assert kernel.groups() == ["a", "a/b"] and kernel.value("a", "swap_tiers") == "fast"
    assert kernel.bindings("a") == ["/system.slice/api.service"] and kernel.procs("a") == [103]
    assert kernel.procs("a/b") == [100]
    assert (f"{ROOT}/a/b/policy.numa", "bind:0-1") in kernel.writes
    assert (f"{ROOT}/a/policy.mem_priority", "high") in kernel.writes and kernel.value("a/b", "mem_priority") == "inherit"
    for op in [Operation("unbind", "a", "bind", "/system.slice/api.service", None),
               Operation("move_members", "a", "cgroup.procs", (103,), "a/b"),
               Operation("move_members", "a/b", "cgroup.procs", (100, 103), ""),
               Operation("remove_group", "a/b"), Operation("remove_group", "a")]:
        backend.apply(op)
    assert kernel.groups() == [] and 103 in kernel.procs("")


@pytest.mark.parametrize(
    ("setup", "op", "message"),
    [
        ([("mkdir", "a")], Operation("create_group", "a"), "cannot create group 'a'.*already exists"),
        ([], Operation("create_group", "x/y"), "cannot create group 'x/y'.*parent group does not exist"),
        ([], Operation("create_group", "bad.name"), "kernel rejected the name"),
        ([("mkdir", "a")], Operation("set_policy", "a", "thp", "inherit", "sometimes"), "rejected the value \\(EINVAL\\)"),
        ([("mkdir", "a")], Operation("set_policy", "a", "oom_score_adj", "inherit", "2000"), "out of range \\(ERANGE\\)"),
        ([("mkdir", "a")], Operation("set_policy", "a", "oom_score_adj", "inherit", "lots"), "EINVAL"),
        ([("mkdir", "a")], Operation("set_policy", "a", "swap_tiers", "inherit", "nvme"), "swap tier is not defined \\(ENOENT\\)"),
        ([("mkdir", "a")], Operation("set_policy", "a", "numa", "inherit", "bind:7"), "EINVAL"),
        ([("mkdir", "a")], Operation("set_policy", "a", "mem_priority", "inherit", "urgent"),
         "writing 'urgent' to policy.mem_priority failed: the kernel rejected the value \\(EINVAL\\)"),
        ([("mkdir", "a")], Operation("bind", "a", "bind", None, "/no/such.service"), "cgroup /no/such.service does not exist"),
        ([("mkdir", "a")], Operation("bind", "a", "bind", None, "/system.slice/../x"), "not an absolute, normalised"),
        ([("mkdir", "a"), ("mkdir", "b"), ("bind", "b")], Operation("bind", "a", "bind", None, "/system.slice"),
         "bound to another policy group"),
        ([("mkdir", "a")], Operation("unbind", "a", "bind", "/system.slice", None), "is not bound to this group"),
        ([("mkdir", "a")], Operation("join_pid", "a", "cgroup.procs", None, 2), "kernel thread or not a PID"),
        ([("mkdir", "a"), ("join", "a")], Operation("remove_group", "a"), "still has members, child groups or bindings"),
        ([("mkdir", "a"), ("mkdir", "a/b")], Operation("remove_group", "a"), "still has members, child groups or bindings"),
        ([("mkdir", "a"), ("bind", "a")], Operation("remove_group", "a"), "still has members, child groups or bindings"),
        ([], Operation("remove_group", "zz"), "does not exist"),
    ],
)
def test_group_errors_are_explained(tmp_path: Path, setup: list, op: Operation, message: str) -> None:
    kernel, backend = host(tmp_path)
    for action, group in setup:
        if action == "mkdir":
            kernel.mkdir(f"{ROOT}/{group}")
        elif action == "bind":
            kernel.write(f"{ROOT}/{group}/policy.bind", "+/system.slice")
        else:
            kernel.write(f"{ROOT}/{group}/cgroup.procs", "100")
    before = {g: (kernel.procs(g), kernel.value(g, "thp")) for g in kernel.groups()}
    with pytest.raises(BackendError, match=message):
        backend.apply(op)
    assert {g: (kernel.procs(g), kernel.value(g, "thp")) for g in kernel.groups()} == before


def test_vanished_process_is_named(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path)
    kernel.mkdir(f"{ROOT}/a")
    with pytest.raises(ProcessGoneError, match="process 4242 does not exist \\(ESRCH\\)") as info:
        backend.apply(Operation("join_pid", "a", "cgroup.procs", None, 4242))
    assert info.value.pid == 4242


def test_move_members_tolerates_exits_and_catches_late_forks(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path)
    kernel.mkdir(f"{ROOT}/a")
    for pid in (100, 101):
        kernel.write(f"{ROOT}/a/cgroup.procs", str(pid))
    kernel.spawn(555, "a")  # forked after planning
    kernel.fail_next["/cgroup.procs"] = E.ESRCH  # the first process exits while being moved
    backend.apply(Operation("move_members", "a", "cgroup.procs", (100, 101), ""))
    assert kernel.procs("a") == []


@pytest.mark.parametrize(
    ("spec", "before", "after", "message"),
    [
        ({}, [], [("fast", 100)], "would not cover -1..32767 \\(EINVAL\\)"),
        ({"nr_tiers": 2}, [], [("a", 200), ("b", 100), ("c", -1)], "CONFIG_NR_SWAP_TIERS \\(ENOSPC\\)"),
        ({"swaps": (("/dev/zram0", 150),)}, [("fast", 100), ("slow", -1)], [("slow", -1)], "active swap device.*\\(EBUSY\\)"),
        ({"swaps": (("/dev/zram0", 150),)}, [("slow", -1)], [("fast", 100), ("slow", -1)], "EBUSY\\)"),
        ({}, [], [("x", 1), ("y", 1)], "EBUSY\\)"),
    ],
)
def test_tier_errors_change_nothing(tmp_path: Path, spec: dict, before: list, after: list, message: str) -> None:
    kernel, backend = host(tmp_path, initial_tiers=tiers_of(before), **spec)
    with pytest.raises(BackendError, match=f"swap tier change .* refused: .*{message}; nothing was changed"):
        backend.apply(Operation("set_tiers", None, "tiers", tiers_of(before), tiers_of(after)))
    assert set(kernel.tiers()) == set(tiers_of(before))


@pytest.mark.parametrize(
    ("batch", "code"),
    [("+fast:100,+fast:5,+slow:-1", E.EEXIST), ("-nope", E.ENOENT), ("+bad-name:5", E.EINVAL), ("+x:-2", E.EINVAL),
     ("fast", E.EINVAL), ("", E.EINVAL)],
)
def test_simulated_tiers_file_errnos(kernel: FakeKernel, batch: str, code: int) -> None:
    with pytest.raises(OSError) as info:
        kernel.write("/sys/kernel/mm/swap/tiers", batch)
    assert info.value.errno == code and kernel.tiers() == ()


def test_removing_a_tier_a_group_names_is_busy(tmp_path: Path) -> None:
    kernel, backend = host(tmp_path, initial_tiers=tiers_of([("fast", 100), ("slow", -1)]))
    kernel.mkdir(f"{ROOT}/a")
    kernel.write(f"{ROOT}/a/policy.swap.tiers", "fast")
    with pytest.raises(BackendError, match="EBUSY"):
        backend.apply(Operation("set_tiers", None, "tiers", kernel.tiers(), tiers_of([("slow", -1)])))
    # removing and re-adding keeps the reference: accepted
    backend.apply(Operation("set_tiers", None, "tiers", kernel.tiers(), tiers_of([("fast", 300), ("slow", -1)])))
    assert kernel.value("a", "swap_tiers") == "fast"


@pytest.mark.parametrize(("code", "text"), [(E.ENODEV, "being removed \\(ENODEV\\)"), (E.EACCES, "Permission denied")])
def test_other_errnos(kernel: FakeKernel, backend: PolicyfsBackend, code: int, text: str) -> None:
    kernel.mkdir(f"{ROOT}/a")
    kernel.fail_next["policy.thp"] = code
    with pytest.raises(BackendError, match=text) as info:
        backend.apply(Operation("set_policy", "a", "thp", "inherit", "never"))
    assert info.value.errno == code


def test_unknown_operation(backend: PolicyfsBackend) -> None:
    with pytest.raises(BackendError, match="no operation 'explode'"):
        backend.apply(Operation("explode", "a"))


@pytest.mark.parametrize(("op", "message"), [
    (Operation("set_policy", "g", "thp", "inherit", "never"),
     "group 'g': writing 'never' to policy.thp failed: the group no longer exists (removed by another process during this run)"),
    (Operation("bind", "g", "bind", None, "/system.slice"),
     "group 'g': writing '+/system.slice' to policy.bind failed: the group no longer exists (removed by another process during this run)"),
])
def test_a_group_removed_by_someone_else_mid_run_is_named_as_such(tmp_path: Path, op: Operation, message: str) -> None:
    kernel, backend = host(tmp_path)
    backend.apply(Operation("create_group", "g"))
    kernel.rmdir(f"{ROOT}/g")
    with pytest.raises(BackendError) as failed:
        backend.apply(op)
    assert str(failed.value) == message
