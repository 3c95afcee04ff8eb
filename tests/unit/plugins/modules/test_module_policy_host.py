"""policy_host: the one module run of the policy_groups role; every refusal of the run comes before its first write."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from fakekernel import FakeKernel

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
