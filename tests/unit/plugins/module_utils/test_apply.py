"""apply_plan and reconcile: stop at the first failure, report exactly what was applied; check mode writes nothing."""

from __future__ import annotations

import contextlib
import errno as E
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakekernel import FakeKernel, HostSpec

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import LockTimeoutError, PlanError
from ansible_collections.policygroups.core.plugins.module_utils._engine._lock import HostLock
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import reconcile

DOC = {"policy_groups": [
    {"name": "a", "thp": "never", "ksm": True},
    {"name": "b", "parent": "a", "oom_score_adj": 100, "members": {"pids": [100]}},
    {"name": "c", "zswap_writeback": False},
]}


def run(kernel: FakeKernel, doc: dict | None = None, **kwargs: object):
    doc = DOC if doc is None else doc
    backend = PolicyfsBackend(io=kernel)
    return reconcile(backend, lambda actual: normalize(doc), lock_path=kernel.real("/run/policygroups.lock"), **kwargs)


def test_check_mode_writes_nothing_and_reports_what_apply_does(kernel: FakeKernel) -> None:
    checked = run(kernel, check_mode=True)
    assert kernel.writes == [] and kernel.groups() == []
    assert checked.changed and len(checked.operations) == 8
    applied = run(kernel)
    assert [op.to_dict() for op in applied.applied] == checked.result()["changes"]
    assert applied.result()["diff"] == checked.result()["diff"]
    assert applied.result()["groups"] == checked.result()["groups"]
    again = run(kernel)
    assert not again.changed and again.operations == [] and again.result()["diff"] == {"before": {}, "after": {}}


@pytest.mark.parametrize("fail_at", range(8))
def test_failure_half_way_reports_applied_and_failed(kernel: FakeKernel, fail_at: int) -> None:
    planned = run(kernel, check_mode=True).operations
    target = planned[fail_at]
    suffix = {"create_group": target.group, "set_policy": None, "join_pid": "cgroup.procs"}[target.op]
    if suffix is None:
        suffix = f"{target.group}/policy." + {"thp": "thp", "ksm": "ksm", "oom_score_adj": "oom_score_adj",
                                              "zswap_writeback": "zswap.writeback"}[target.key]
    kernel.fail_next[suffix] = E.EIO
    outcome = run(kernel)
    result = outcome.result()
    assert outcome.failed == target and outcome.applied == planned[:fail_at]
    assert result["failed_operation"] == target.to_dict()
    assert result["applied"] == [op.to_dict() for op in planned[:fail_at]]
    assert "Input/output error" in result["msg"] and result["changed"] == (fail_at > 0)
    # the host is exactly "plan up to the failure": the next run plans the rest and converges
    rest = run(kernel)
    assert rest.ok and set(rest.operations) == set(planned[fail_at:])  # the remainder, possibly reordered
    assert run(kernel).operations == []


def test_vanished_pid_fails_before_any_write_or_is_skipped(kernel: FakeKernel) -> None:
    kernel.kill(100)
    with pytest.raises(PlanError, match="group 'a/b': process 100 does not exist"):
        run(kernel)
    assert kernel.writes == []
    outcome = run(kernel, missing="skip")
    assert outcome.ok and outcome.result()["skipped_members"] == ["group 'a/b': process 100 does not exist"]
    assert "a/b" in kernel.groups()


def test_process_exiting_between_plan_and_join(tmp_path: Path) -> None:
    class ExitsOnJoin(FakeKernel):
        def write(self, path: str, data: str) -> None:
            if path.endswith("a/b/cgroup.procs"):
                self.kill(int(data))
            super().write(path, data)

    kernel = ExitsOnJoin(tmp_path / "h", HostSpec())
    failed = run(kernel)
    assert failed.failed is not None and failed.failed.op == "join_pid"
    assert "process 100 does not exist" in (failed.error or "")
    kernel = ExitsOnJoin(tmp_path / "h2", HostSpec())
    skipped = run(kernel, missing="skip")
    assert skipped.ok and skipped.skipped == ["group 'a/b': process 100 does not exist (ESRCH)"]


def test_units_resolve_to_cgroups(kernel: FakeKernel) -> None:
    doc = {"policy_groups": [{"name": "a", "members": {"systemd_units": ["api.service"]}}]}
    units = {"api.service": "/system.slice/api.service"}
    outcome = run(kernel, doc, resolve_unit=units.get)
    assert outcome.ok and kernel.bindings("a") == ["/system.slice/api.service"]
    assert run(kernel, doc, resolve_unit=units.get).operations == []
    with pytest.raises(PlanError, match="systemd unit report.service has no cgroup and will get none"):
        run(kernel, {"policy_groups": [{"name": "a", "members": {"systemd_units": ["report.service"]}}]},
            resolve_unit=units.get)


def test_unit_not_running_is_bound_to_the_cgroup_it_will_get(kernel: FakeKernel) -> None:
    """A timer's template instance that has not started: its cgroup (and its template's slice) is created and
    bound, so the unit is in the group from its first start; check mode creates nothing; a second run is a no-op."""
    path = "/system.slice/system-report.slice/report@1.service"
    doc = {"policy_groups": [{"name": "batch", "members": {"systemd_units": ["report@1.service"]}}]}
    units = {"report@1.service": path}
    checked = run(kernel, doc, resolve_unit=units.get, check_mode=True)
    assert [op.to_dict() for op in checked.operations][-1] == {
        "op": "bind", "group": "batch", "key": "bind", "before": None, "after": path}
    assert kernel.created_cgroups == [] and kernel.writes == []
    applied = run(kernel, doc, resolve_unit=units.get)
    assert applied.ok and [op.to_dict() for op in applied.applied] == checked.result()["changes"]
    assert kernel.created_cgroups == ["/system.slice/system-report.slice", path]
    assert kernel.bindings("batch") == [path]
    again = run(kernel, doc, resolve_unit=units.get)
    assert again.operations == [] and kernel.created_cgroups == ["/system.slice/system-report.slice", path]


def test_only_a_unit_cgroup_is_created_ahead(kernel: FakeKernel) -> None:
    """A bound path that is not where systemd puts a unit must exist: a typo is an error, not an empty cgroup."""
    doc = {"policy_groups": [{"name": "a", "members": {"cgroups": ["/data/app"]}}]}
    outcome = run(kernel, doc)
    assert outcome.failed is not None and "cgroup /data/app does not exist" in (outcome.error or "")
    assert kernel.created_cgroups == []


def test_unit_unknown_to_systemd_fails_or_is_skipped(kernel: FakeKernel) -> None:
    doc = {"policy_groups": [{"name": "a", "members": {"systemd_units": ["typo.service"]}}]}
    with pytest.raises(PlanError, match="systemd unit typo.service has no cgroup and will get none: systemd does not "
                       "know it, or it is masked"):
        run(kernel, doc, resolve_unit={}.get)
    skipped = run(kernel, doc, resolve_unit={}.get, missing="skip")
    assert skipped.ok and skipped.skipped == [
        "group 'a': systemd unit typo.service has no cgroup and will get none: systemd does not know it, or it is "
        "masked (is it installed?)"]


@contextlib.contextmanager
def held_by_another_run(path: str) -> Iterator[None]:
    """The host lock held exclusively by a thread of its own, as by another run (a lock this thread holds already
    would be taken again by this thread's reconcile, re-entrantly)."""
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with HostLock(path):
            taken.set()
            done.wait(30)

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        assert taken.wait(30)
        yield
    finally:
        done.set()
        thread.join()


def test_concurrent_run_waits_for_the_lock_then_fails_clearly(kernel: FakeKernel) -> None:
    with held_by_another_run(kernel.real("/run/policygroups.lock")):
        with pytest.raises(LockTimeoutError, match=r"holds the host lock .*policygroups.lock \(last exclusive holder: PID \d+\); gave up after 0.2 s"):
            run(kernel, lock_timeout=0.2)
        with pytest.raises(LockTimeoutError):
            run(kernel, lock_timeout=0.1, check_mode=True)
    assert kernel.writes == []
    assert run(kernel).ok
