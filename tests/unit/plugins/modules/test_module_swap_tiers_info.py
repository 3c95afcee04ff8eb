"""swap_tiers and policy_groups_info modules."""

from __future__ import annotations

import json
from typing import Any, Callable

from fakekernel import FakeKernel

from ansible_collections.policygroups.core.plugins.modules import policy_groups, policy_groups_info, swap_tiers
from ansible_collections.policygroups.core.plugins.module_utils._module import _probe

TIERS = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]


def test_swap_tiers_check_apply_noop(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    checked = run_module(swap_tiers, {"tiers": TIERS}, check_mode=True)
    assert checked["changed"] and kernel.tiers() == ()
    assert checked["diff"] == {"before": {"tiers": []}, "after": {"tiers": TIERS}}
    applied = run_module(swap_tiers, {"tiers": TIERS})
    assert applied["changed"] and applied["tiers"] == TIERS and applied["changes"] == checked["changes"]
    assert not run_module(swap_tiers, {"tiers": TIERS})["changed"]
    added = run_module(swap_tiers, {"tiers": [{"name": "zram", "start_priority": 1000}], "purge": False})
    assert added["tiers"][0] == {"name": "zram", "start_priority": 1000} and len(added["tiers"]) == 3


def test_swap_tiers_refuses_removing_a_named_tier(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(swap_tiers, {"tiers": TIERS})
    run_module(policy_groups, {"groups": [{"name": "a", "swap": {"tiers": ["fast"]}}]})
    result = run_module(swap_tiers, {"tiers": TIERS[1:]})
    assert result["failed"] and "swap tier 'fast' cannot be removed: group(s) a still name it" in result["msg"]


def test_swap_tiers_kernel_refusal(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    kernel.spec.nr_tiers = 1
    result = run_module(swap_tiers, {"tiers": TIERS})
    assert result["failed"] and "ENOSPC" in result["msg"] and result["applied"] == []
    assert result["failed_operation"]["op"] == "set_tiers"


def test_info(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(swap_tiers, {"tiers": TIERS})
    run_module(policy_groups, {"groups": [{"name": "p", "thp": "never"}, {"name": "c", "parent": "p", "ksm": True}]})
    info = run_module(policy_groups_info, {})["policy_groups_info"]
    assert info["available"] and info["abi_version"] == 1 and info["swap_tiers"] == TIERS
    assert info["groups"]["p/c"]["effective"]["thp"] == "never" and info["groups"]["p/c"]["parent"] == "p"
    assert info["numa_nodes"] == [0, 1] and "persisted" not in info


def test_info_persisted_drift(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": [{"name": "p", "thp": "never"}]})
    doc = {"format": 1, "policy_groups": [{"name": "p", "thp": "always"}]}
    path = kernel.real("/etc/policy.json")
    import os

    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        json.dump(doc, handle)
    info = run_module(policy_groups_info, {"persist_path": "/etc/policy.json"})["policy_groups_info"]
    assert info["persisted"] == doc
    assert info["persisted_drift"] == [{"op": "set_policy", "group": "p", "key": "thp", "before": "never", "after": "always"}]
    none = run_module(policy_groups_info, {"persist_path": "/etc/missing.json"})["policy_groups_info"]
    assert none["persisted"] is None and none["persisted_drift"] == []


def test_info_on_a_stock_kernel(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    import shutil

    shutil.rmtree(kernel.real("/sys/fs/cgroup/policy"))
    result = run_module(policy_groups_info, {})
    assert result["rc_exit"] == 0 and not result["changed"]
    info = result["policy_groups_info"]
    assert not info["available"] and "nothing is mounted" in info["reason"] and info["groups"] == {}


class _Systemctl:
    """A module's get_bin_path and run_command for ``systemctl is-enabled``, answering ``answer``."""

    def __init__(self, answer: str | None) -> None:
        self.answer, self.calls = answer, []  # type: ignore[var-annotated]

    def get_bin_path(self, name: str) -> str | None:
        return None if self.answer is None else f"/usr/bin/{name}"

    def run_command(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        return (0 if self.answer == "enabled" else 1), f"{self.answer}\n", ""


def test_restore_unit_enabled_is_what_systemctl_answers() -> None:
    enabled = _Systemctl("enabled")
    assert _probe.unit_enabled(enabled, "policygroups-restore.service", "/") is True
    assert enabled.calls == [["/usr/bin/systemctl", "is-enabled", "--", "policygroups-restore.service"]]
    for answer in ("disabled", "not-found", "masked", "static"):
        assert _probe.unit_enabled(_Systemctl(answer), "u.service", "/") is False
    assert _probe.unit_enabled(_Systemctl(None), "u.service", "/") is None


def test_restore_unit_is_not_asked_on_a_re_rooted_host(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    info = run_module(policy_groups_info, {"restore_unit": "policygroups-restore.service"})["policy_groups_info"]
    assert info["restore_unit_enabled"] is None
    assert "restore_unit_enabled" not in run_module(policy_groups_info, {})["policy_groups_info"]
