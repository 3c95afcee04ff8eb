"""policy_host: the one module run of the policy_groups role; every refusal of the run comes before its first write."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import re
import subprocess
import sys
from typing import Any, Callable

import pytest
from fakekernel import FakeKernel
from lockprobe import other_process_can_lock

from ansible_collections.policygroups.core.plugins.module_utils._module import _probe
from ansible_collections.policygroups.core.plugins.modules import policy_host

TIERS = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]


@pytest.fixture
def host_run(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]],
             monkeypatch: pytest.MonkeyPatch) -> Callable[..., dict[str, Any]]:
    """policy_host as the converge action runs it: a probe first, then the run with the facts it rendered from."""
    monkeypatch.setattr(_probe, "backend_from", policy_host_backend(run_module))

    def run(args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
        probed = run_module(policy_host, {"probe_only": True})
        facts = _probe.render_facts(probed["policy_groups_info"])
        return run_module(policy_host, {"rendered_facts": facts, **args}, check_mode=check_mode)

    return run


def policy_host_backend(run_module: Callable[..., dict[str, Any]]) -> Any:
    from ansible_collections.policygroups.core.plugins.module_utils._module import _modcommon
    return _modcommon.backend_from  # the conftest's simulated kernel (run_module patched it)


@pytest.mark.parametrize("group", [
    {"name": "web", "members": {"systemd_units": ["nginix.service"]}},  # a unit systemd does not know
    {"name": "web", "oom_score_adj": 5000},  # a value out of range
    {"name": "web", "swap": {"tiers": ["nvme"]}},  # a tier the table will not have
])
@pytest.mark.parametrize("check_mode", [False, True])
def test_groups_refused_leave_the_new_tier_table_unwritten(kernel: FakeKernel, host_run: Callable[..., dict[str, Any]],
                                                           group: dict[str, Any], check_mode: bool) -> None:
    result = host_run({"tiers": TIERS, "groups": [group]}, check_mode=check_mode)
    assert result.get("failed") and result["msg"].startswith("policy groups: "), result
    assert kernel.tiers() == () and kernel.writes == [], (kernel.tiers(), kernel.writes)


def test_tiers_and_groups_together_when_both_are_fine(kernel: FakeKernel,
                                                      host_run: Callable[..., dict[str, Any]]) -> None:
    group = {"name": "web", "swap": {"tiers": ["fast"]}, "members": {"systemd_units": ["api.service"]}}
    result = host_run({"tiers": TIERS, "groups": [group]})
    assert not result.get("failed") and result["changed"], result
    assert [t.name for t in kernel.tiers()] == ["fast", "slow"] and kernel.value("web", "swap_tiers") == "fast"
    again = host_run({"tiers": TIERS, "groups": [group]})
    assert not again["changed"], again


POLICY = b'{"policy_groups": []}\n'
PERSIST = {"files": [{"what": "policy", "path": "/etc/policygroups/policy.json",
                      "sha256": hashlib.sha256(POLICY).hexdigest(), "content": base64.b64encode(POLICY).decode()}]}

FLOCK_NAMES = {fcntl.LOCK_EX: "lock-ex", fcntl.LOCK_SH: "lock-sh", fcntl.LOCK_UN: "unlock"}


@pytest.mark.parametrize("check_mode", [False, True])
def test_one_host_lock_is_held_from_the_probe_through_the_persist_step(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
        check_mode: bool) -> None:
    """Another run (in another process) can neither change the host nor its persisted files between this run's
    probe and its persist step: the lock is exclusive (shared in check mode) at both, and not let go in between."""
    monkeypatch.setattr(_probe, "backend_from", policy_host_backend(run_module))
    facts = _probe.render_facts(run_module(policy_host, {"probe_only": True})["policy_groups_info"])
    lock = os.path.join(kernel.root, "run", "policygroups.lock")
    events: list[str] = []
    real_flock, real_probe, real_persist = fcntl.flock, policy_host.probe, policy_host.persist

    def flock(fd: int, operation: int) -> None:
        events.append(FLOCK_NAMES[operation & ~fcntl.LOCK_NB])
        real_flock(fd, operation)

    def at(step: str) -> None:
        events.append(step)
        # in check mode other readers may come in, writers never; otherwise neither
        assert other_process_can_lock(lock, shared=True) == check_mode, f"{step}: readers let in"
        assert not other_process_can_lock(lock, shared=False), f"{step}: writers let in"

    def probe(*args: Any, **kwargs: Any) -> Any:
        at("probe")
        return real_probe(*args, **kwargs)

    def persist(*args: Any, **kwargs: Any) -> Any:
        at("persist")
        return real_persist(*args, **kwargs)

    monkeypatch.setattr(fcntl, "flock", flock)
    monkeypatch.setattr(policy_host, "probe", probe)
    monkeypatch.setattr(policy_host, "persist", persist)
    group = {"name": "web", "swap": {"tiers": ["fast"]}}
    result = run_module(policy_host, {"rendered_facts": facts, "tiers": TIERS, "groups": [group], "persist": PERSIST,
                                      "restore_unit": "policygroups-restore.service"}, check_mode=check_mode)
    assert not result.get("failed") and result["changed"], result
    assert result["persist_result"]["files"][0]["changed"], result
    assert kernel.writes == [] if check_mode else kernel.value("web", "swap_tiers") == "fast"
    taken = "lock-sh" if check_mode else "lock-ex"
    assert events == [taken, "probe", "persist", "unlock"], events  # one lock, not given up in between


def test_a_run_waits_for_the_host_lock_before_it_probes(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """While another process holds the lock, the run reads nothing (a probe read then would be stale by the time
    the run gets the lock), fails with the lock's own message and writes nothing, persisted files included."""
    monkeypatch.setattr(_probe, "backend_from", policy_host_backend(run_module))
    facts = _probe.render_facts(run_module(policy_host, {"probe_only": True})["policy_groups_info"])
    lock = os.path.join(kernel.root, "run", "policygroups.lock")
    probed: list[bool] = []
    real_probe = policy_host.probe

    def probe(*args: Any, **kwargs: Any) -> Any:
        probed.append(True)
        return real_probe(*args, **kwargs)

    monkeypatch.setattr(policy_host, "probe", probe)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,os,sys,time; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)", lock],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        result = run_module(policy_host, {"rendered_facts": facts, "tiers": TIERS, "persist": PERSIST,
                                          "restore_unit": "policygroups-restore.service", "lock_timeout": 0.2})
        probe_only = run_module(policy_host, {"probe_only": True, "lock_timeout": 0.2})  # reads without the lock
    finally:
        holder.kill()
        holder.wait()
    assert result.get("failed") and re.fullmatch(r"another policy-groups run holds the host lock \S+/run/policygroups"
                                                 r"\.lock( \(last exclusive holder: PID \d+\))?; gave up after 0\.2 s",
                                                 result["msg"]), result
    assert probed == [True] and kernel.writes == [], (probed, kernel.writes)  # the probe-only run's
    assert not probe_only.get("failed") and probe_only["policy_groups_info"]["available"], probe_only
    assert not os.path.lexists(os.path.join(kernel.root, "etc", "policygroups", "policy.json"))
