"""policy_groups_info with ``stats``: each group's policy.stat, parsed as integers; refused clearly where the kernel
has none; not read at all without the option."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import pytest
from fakekernel import ALL_FEATURES, STATS, FakeKernel, HostSpec

from ansible_collections.policygroups.core.plugins.modules import policy_groups, policy_groups_info

GROUPS = [{"name": "background", "ksm": True}, {"name": "batch", "parent": "background", "oom_score_adj": 500}]
NO_STAT = tuple(f for f in ALL_FEATURES if f != "stat")


@pytest.fixture
def warned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The module's warnings, recorded at module.warn (how ansible-core delivers them depends on what else this
    process imported, and earlier runs in it)."""
    messages: list[str] = []
    monkeypatch.setattr(policy_groups_info.AnsibleModule, "warn", lambda self, msg: messages.append(msg))
    return messages


@pytest.fixture
def kernel(tmp_path: Path, request: pytest.FixtureRequest) -> FakeKernel:
    """The simulated host; parametrized indirectly, a kernel whose policy.features lists only the features given."""
    features = getattr(request, "param", None)
    return FakeKernel(tmp_path / "host", HostSpec(features=features) if features else HostSpec())


def test_stats_are_each_groups_policy_stat_as_integers(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]], warned: list[str]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    kernel.spawn(200, "background/batch")
    kernel.spawn(201, "background/batch")
    kernel.set_stats("background/batch", {"oom_kill": 3, "thp_fault_alloc": 12345678901})
    result = run_module(policy_groups_info, {"stats": True})
    assert result["rc_exit"] == 0 and warned == []
    groups = result["policy_groups_info"]["groups"]
    assert groups["background/batch"]["stats"] == {**STATS, "members": 2, "oom_kill": 3, "thp_fault_alloc": 12345678901}
    assert groups["background"]["stats"] == STATS
    values = [value for group in groups.values() for value in group["stats"].values()]
    assert values and all(isinstance(value, int) and not isinstance(value, bool) for value in values)
    assert list(groups["background/batch"]["stats"]) == list(STATS)  # the kernel's order


def test_keys_a_newer_kernel_adds_are_kept_and_none_is_required(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]], warned: list[str]) -> None:
    run_module(policy_groups, {"groups": GROUPS[:1]})
    kernel.set_stats("background", text="members 1\nswpout_fast 42\nreclaim_prio_skipped 7\n")
    result = run_module(policy_groups_info, {"stats": True})
    assert result["rc_exit"] == 0 and warned == []
    assert result["policy_groups_info"]["groups"]["background"]["stats"] == {
        "members": 1, "swpout_fast": 42, "reclaim_prio_skipped": 7}


def test_a_malformed_line_is_left_out_with_a_warning(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]], warned: list[str]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    kernel.set_stats("background/batch", {"oom_kill": "many", "covered_bytes": -1})
    result = run_module(policy_groups_info, {"stats": True})
    assert result["rc_exit"] == 0 and not result.get("failed")
    stats = result["policy_groups_info"]["groups"]["background/batch"]["stats"]
    assert "oom_kill" not in stats and "covered_bytes" not in stats
    assert stats == {key: value for key, value in STATS.items() if key not in ("oom_kill", "covered_bytes")}
    assert warned == [
        "/sys/fs/cgroup/policy/background/batch/policy.stat, line 2 left out: 'covered_bytes -1' is not a key and a "
        "non-negative integer",
        "/sys/fs/cgroup/policy/background/batch/policy.stat, line 6 left out: 'oom_kill many' is not a key and a "
        "non-negative integer",
    ]
    assert result["policy_groups_info"]["groups"]["background"]["stats"] == STATS


@pytest.mark.parametrize("kernel", [NO_STAT], indirect=True)
def test_a_kernel_without_the_feature_fails_naming_it(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    result = run_module(policy_groups_info, {"stats": True})
    assert result["failed"] and result["rc_exit"] == 1
    assert result["msg"].startswith("stats: this kernel has no policy.stat (feature 'stat' is not in "
                                    "/sys/fs/cgroup/policy/policy.features: thp ksm")
    assert result["policy_groups_info"]["available"]  # what was read is still returned
    assert "stats" not in result["policy_groups_info"]["groups"]["background"]


@pytest.mark.parametrize("kernel", [NO_STAT], indirect=True)
def test_without_stats_policy_stat_is_never_read(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]], warned: list[str]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    assert not os.path.exists(kernel.real("/sys/fs/cgroup/policy/background/policy.stat"))
    for args in ({}, {"stats": False}):
        result = run_module(policy_groups_info, args)
        assert result["rc_exit"] == 0 and warned == []
        assert all("stats" not in group for group in result["policy_groups_info"]["groups"].values())


def test_without_stats_a_listed_but_unreadable_policy_stat_does_not_matter(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    run_module(policy_groups, {"groups": GROUPS})
    os.unlink(kernel.real("/sys/fs/cgroup/policy/background/batch/policy.stat"))
    result = run_module(policy_groups_info, {})
    assert result["rc_exit"] == 0 and "stats" not in result["policy_groups_info"]["groups"]["background/batch"]
    failed = run_module(policy_groups_info, {"stats": True})
    assert failed["failed"] and "group 'background/batch': cannot read " in failed["msg"]
    assert "background/batch/policy.stat: No such file or directory (ENOENT)" in failed["msg"]


def test_a_symbolic_link_in_place_of_policy_stat_is_not_followed(
        kernel: FakeKernel, run_module: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    run_module(policy_groups, {"groups": GROUPS[:1]})
    outside = tmp_path / "elsewhere"
    outside.write_text("members 99\n")
    stat = kernel.real("/sys/fs/cgroup/policy/background/policy.stat")
    os.unlink(stat)
    os.symlink(outside, stat)
    result = run_module(policy_groups_info, {"stats": True})
    assert result["failed"] and "(ELOOP)" in result["msg"] and "members 99" not in str(result)


def test_a_host_without_policy_groups_is_still_no_error(kernel: FakeKernel, run_module: Callable[..., dict[str, Any]]) -> None:
    import shutil

    shutil.rmtree(kernel.real("/sys/fs/cgroup/policy"))
    result = run_module(policy_groups_info, {"stats": True})
    assert result["rc_exit"] == 0 and not result["policy_groups_info"]["available"]
    assert result["policy_groups_info"]["groups"] == {}
