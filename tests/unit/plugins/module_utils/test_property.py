"""Property: from any starting host, applying the plan reaches the desired state and a second plan is empty."""

from __future__ import annotations

import tempfile
from typing import Any

from fakekernel import FakeKernel, HostSpec, tiers_of
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ansible_collections.policygroups.core.plugins.module_utils._engine._apply import apply_plan
from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PlanError
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import POLICY_KEYS, normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._plan import plan, same_value

NAMES = ["g0", "g1", "g2", "g3", "g4", "g5"]
TIER_NAMES = ["fast", "mid", "slow", "zram"]
CGROUPS = ["/system.slice", "/system.slice/api.service", "/system.slice/report.service"]
PIDS = [100, 101, 102, 103]
ROOT = "/sys/fs/cgroup/policy"


@st.composite
def tier_tables(draw: Any) -> list[dict[str, int]]:
    names = draw(st.lists(st.sampled_from(TIER_NAMES), unique=True, max_size=4))
    if not names:
        return []
    prios = draw(st.lists(st.integers(0, 300), unique=True, min_size=len(names) - 1, max_size=len(names) - 1))
    return [{"name": n, "start_priority": p} for n, p in zip(names, [-1, *prios])]


@st.composite
def forests(draw: Any, tiers: list[dict[str, int]]) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=5))
    tier_names = [t["name"] for t in tiers]
    cgroups = draw(st.permutations(CGROUPS))
    pids = draw(st.permutations(PIDS))
    groups = []
    for index, name in enumerate(names):
        group: dict[str, Any] = {"name": name}
        if index and draw(st.booleans()):
            group["parent"] = draw(st.sampled_from(names[:index]))
        if draw(st.booleans()):
            group["thp"] = draw(st.sampled_from(["inherit", "never", "madvise", "always"]))
        if draw(st.booleans()):
            group["ksm"] = draw(st.booleans())
        if draw(st.booleans()):
            group["oom_score_adj"] = draw(st.integers(-1000, 1000))
        if draw(st.booleans()):
            group["zswap_writeback"] = draw(st.booleans())
        if draw(st.booleans()):
            group["numa"] = draw(st.sampled_from([{"mode": "local"}, {"mode": "bind", "nodes": "0-1"},
                                                  {"mode": "interleave", "nodes": "1"}]))
        if draw(st.booleans()):
            group["mem_priority"] = draw(st.sampled_from(["low", "normal", "high"]))
        choice = draw(st.integers(0, 2))
        if choice == 1:
            group["swap"] = {"enabled": False}
        elif choice == 2 and tier_names:
            group["swap"] = {"tiers": draw(st.lists(st.sampled_from(tier_names), unique=True, min_size=1))}
        members: dict[str, Any] = {}
        if cgroups and draw(st.booleans()):
            members["cgroups"] = [cgroups.pop()]
        if pids and draw(st.booleans()):
            members["pids"] = [pids.pop()]
        if members:
            group["members"] = members
        groups.append(group)
    return groups


@st.composite
def scenarios(draw: Any) -> tuple[list, list, list, list, bool]:
    start_tiers = draw(tier_tables())
    start_groups = draw(forests(start_tiers))
    tiers = draw(tier_tables())
    groups = draw(forests(tiers))
    return start_tiers, start_groups, tiers, groups, draw(st.booleans())


def seed(tmp: str, tiers: list, groups: list) -> FakeKernel:
    """A host that already holds ``groups`` (written straight through the simulated kernel)."""
    kernel = FakeKernel(tmp, HostSpec(initial_tiers=tiers_of((t["name"], t["start_priority"]) for t in tiers)))
    backend = PolicyfsBackend(io=kernel)
    result = apply_plan(backend, plan(normalize({"policy_groups": groups}), backend.read_state()))
    assert result.ok, result.error
    kernel.writes.clear()
    return kernel


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_plan_reaches_desired_state_and_then_is_empty(scenario: tuple) -> None:
    start_tiers, start_groups, tiers, groups, purge = scenario
    with tempfile.TemporaryDirectory() as tmp:
        kernel = seed(tmp, start_tiers, start_groups)
        backend = PolicyfsBackend(io=kernel)
        desired = normalize({"policy_swap_tiers": tiers, "policy_groups": groups})
        try:
            ops = plan(desired, backend.read_state(), purge)
        except PlanError as exc:
            # the only refusals: taking a tier or cgroup from groups this run does not manage, or a tier rename
            # at a start priority that groups still use
            assert any(s in str(exc) for s in ("does not manage", "not managed by this run", "is taken by new tier")), exc
            assert kernel.writes == []
            event("refused before writing")
            return
        event(f"applied {min(len(ops) // 5 * 5, 20)}+ operations")
        result = apply_plan(backend, ops)
        assert result.ok, (result.failed, result.error)
        actual = backend.read_state()
        assert plan(desired, actual, purge) == []
        assert set(actual.tiers or ()) == set(desired.tiers or ())
        for group in desired.groups:
            have = actual.groups[group.path]
            for key in POLICY_KEYS:
                assert same_value(key, have.policies[key], group.policies[key]), (group.path, key)
            assert set(have.bindings) == set(group.members.cgroups)
            assert set(group.members.pids) <= set(have.pids)
        if purge:
            assert set(actual.groups) == {g.path for g in desired.groups}
