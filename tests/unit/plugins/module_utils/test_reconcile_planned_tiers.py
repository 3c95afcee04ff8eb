"""reconcile(planned_tiers=...): check mode plans groups against the tiers an earlier step would create."""

from __future__ import annotations

import pytest
from fakekernel import FakeKernel

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PlanError
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import HostPolicy, TierSpec, normalize
from ansible_collections.policygroups.core.plugins.module_utils._policyfs._planner_policyfs import assume_tiers
from ansible_collections.policygroups.core.plugins.module_utils._engine._reconcile import Outcome, reconcile
from ansible_collections.policygroups.core.plugins.module_utils._engine._state import Capabilities, HostState

CAPS = Capabilities(backend="policyfs", available=True)
TIERS = (TierSpec("slow", -1), TierSpec("fast", 100))
GROUPS = {"policy_groups": [
    {"name": "latency", "swap": {"tiers": ["fast"]}, "thp": "never"},
    {"name": "batch", "swap": {"tiers": ["slow", "fast"]}},
]}


def run(kernel: FakeKernel, doc: dict, **kwargs: object) -> Outcome:
    desired: HostPolicy = normalize(doc)
    return reconcile(PolicyfsBackend(io=kernel), lambda _actual: desired,
                     lock_path=kernel.real("/run/policygroups.lock"), **kwargs)


def test_without_planned_tiers_the_missing_tiers_fail_the_plan(kernel: FakeKernel) -> None:
    missing = r"group 'batch': swap tier\(s\) fast, slow are not defined on this host \(defined: none\)"
    with pytest.raises(PlanError, match=missing):
        run(kernel, GROUPS, check_mode=True)


def test_check_mode_plans_the_groups_against_the_planned_tiers(kernel: FakeKernel) -> None:
    checked = run(kernel, GROUPS, check_mode=True, planned_tiers=TIERS)
    assert kernel.writes == [] and kernel.groups() == []
    assert [(op.op, op.group, op.key, op.after) for op in checked.operations] == [
        ("create_group", "batch", None, None),
        ("set_policy", "batch", "swap_tiers", "fast slow"),  # canonical: highest planned tier first
        ("create_group", "latency", None, None),
        ("set_policy", "latency", "thp", "never"),
        ("set_policy", "latency", "swap_tiers", "fast"),
    ]
    # what check mode reports is what a real run does once the tiers exist
    run(kernel, {"policy_swap_tiers": [t.to_dict() for t in TIERS], "policy_groups": []})
    applied = run(kernel, GROUPS)
    assert [op.to_dict() for op in applied.applied] == checked.result()["changes"]
    assert applied.result()["groups"] == checked.result()["groups"]


def test_planned_tiers_do_not_hide_a_tier_the_run_would_not_create(kernel: FakeKernel) -> None:
    with pytest.raises(PlanError, match=r"swap tier\(s\) slow are not defined on this host \(defined: fast\)"):
        run(kernel, GROUPS, check_mode=True, planned_tiers=(TierSpec("fast", -1),))


def test_planned_tiers_are_ignored_outside_check_mode(kernel: FakeKernel) -> None:
    with pytest.raises(PlanError, match="not defined on this host"):
        run(kernel, GROUPS, planned_tiers=TIERS)
    assert kernel.writes == []


def test_assume_tiers_replaces_the_table_in_kernel_order_only_where_tiers_exist() -> None:
    host = HostState(capabilities=CAPS, tiers=())
    assert assume_tiers(host, TIERS).tiers == (TierSpec("fast", 100), TierSpec("slow", -1))
    assert assume_tiers(host, None) is host
    no_tiers = HostState(capabilities=CAPS, tiers=None)
    assert assume_tiers(no_tiers, TIERS) is no_tiers
