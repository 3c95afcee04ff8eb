"""plan(): the order of operations, refusals before any write, and convergence."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakekernel import FakeKernel, HostSpec, tiers_of

from ansible_collections.policygroups.core.plugins.module_utils._engine._apply import apply_plan
from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PlanError, UnsupportedError
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import normalize
from ansible_collections.policygroups.core.plugins.module_utils._engine._plan import Operation, plan

ROOT = "/sys/fs/cgroup/policy"


def make(tmp_path: Path, **spec: object) -> tuple[FakeKernel, PolicyfsBackend]:
    kernel = FakeKernel(tmp_path / "h", HostSpec(**spec))  # type: ignore[arg-type]
    return kernel, PolicyfsBackend(io=kernel)


def converge(backend: PolicyfsBackend, doc: dict, purge: bool = False) -> list[Operation]:
    ops = plan(normalize(doc), backend.read_state(), purge)
    result = apply_plan(backend, ops)
    assert result.ok, result.error
    assert plan(normalize(doc), backend.read_state(), purge) == []
    return ops


def kinds(ops: list[Operation]) -> list[tuple[str, str | None]]:
    return [(op.op, op.group) for op in ops]


def test_parents_first_and_tiers_before_groups_that_use_them(tmp_path: Path) -> None:
    backend = make(tmp_path)[1]
    doc = {
        "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
        "policy_groups": [{"name": "c", "parent": "b", "swap": {"tiers": ["slow", "fast"]}}, {"name": "b", "parent": "a"},
                          {"name": "a", "thp": "never"}],
    }
    ops = converge(backend, doc)
    assert kinds(ops) == [("set_tiers", None), ("create_group", "a"), ("set_policy", "a"), ("create_group", "a/b"),
                          ("create_group", "a/b/c"), ("set_policy", "a/b/c")]
    assert ops[-1].after == "fast slow"  # canonical: highest tier first


def test_children_removed_before_parents_after_members_and_bindings(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path)
    converge(backend, {"policy_groups": [
        {"name": "a", "members": {"cgroups": ["/system.slice"], "pids": [100]}},
        {"name": "b", "parent": "a", "members": {"pids": [101]}}]})
    ops = converge(backend, {"policy_groups": [{"name": "a", "state": "absent"}]})
    assert kinds(ops) == [("unbind", "a"), ("move_members", "a/b"), ("remove_group", "a/b"),
                          ("move_members", "a"), ("remove_group", "a")]
    assert kernel.groups() == [] and {100, 101} <= set(kernel.procs(""))


def test_cgroup_moving_between_groups_is_unbound_first(tmp_path: Path) -> None:
    backend = make(tmp_path)[1]
    converge(backend, {"policy_groups": [{"name": "a", "members": {"cgroups": ["/system.slice"]}}, {"name": "b"}]})
    ops = converge(backend, {"policy_groups": [{"name": "a"}, {"name": "b", "members": {"cgroups": ["/system.slice"]}}]})
    assert kinds(ops) == [("unbind", "a"), ("bind", "b")]


def test_purge_removes_unnamed_groups_and_default_leaves_them(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path)
    converge(backend, {"policy_groups": [{"name": "keep"}, {"name": "extra"}, {"name": "sub", "parent": "extra"}]})
    assert converge(backend, {"policy_groups": [{"name": "keep"}]}) == []
    ops = converge(backend, {"policy_groups": [{"name": "keep"}]}, purge=True)
    assert kinds(ops) == [("remove_group", "extra/sub"), ("remove_group", "extra")]
    assert kernel.groups() == ["keep"]


def test_changing_the_parent_moves_group_and_members(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path)
    converge(backend, {"policy_groups": [{"name": "p"}, {"name": "g", "thp": "never", "members": {"pids": [100, 101]}}]})
    moved = {"name": "g", "parent": "p", "thp": "never", "members": {"pids": [100]}}
    ops = converge(backend, {"policy_groups": [{"name": "p"}, moved]})
    assert kinds(ops) == [("create_group", "p/g"), ("set_policy", "p/g"), ("join_pid", "p/g"),
                          ("move_members", "g"), ("remove_group", "g")]
    assert ops[3].after == "p/g"
    assert kernel.groups() == ["p", "p/g"] and kernel.procs("p/g") == [100, 101]


def test_unsupported_policy_refused_before_any_write(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path, features=("thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "bind"))
    doc = {"policy_groups": [{"name": "a", "thp": "never"}, {"name": "b", "numa": {"mode": "bind", "nodes": "0"}}]}
    with pytest.raises(UnsupportedError, match=r"policy 'numa' is not supported by this kernel \(policy.features: thp ksm"):
        plan(normalize(doc), backend.read_state())
    assert kernel.writes == [] and kernel.groups() == []


def test_mem_priority_refused_before_any_write_on_a_kernel_without_it(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path, features=("thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa",
                                               "bind"))
    doc = {"policy_groups": [{"name": "a", "thp": "never"},
                             {"name": "b", "mem_priority": "low", "members": {"cgroups": ["/system.slice"]}}]}
    with pytest.raises(UnsupportedError) as raised:
        plan(normalize(doc), backend.read_state())
    assert str(raised.value) == ("group 'b': policy 'mem_priority' is not supported by this kernel (policy.features: "
                                 "thp ksm oom_score_adj swap_tiers zswap_writeback numa bind)")
    assert kernel.writes == [] and kernel.groups() == []
    # a group that leaves it to inherit is fine there, and nothing reads the missing file
    converge(backend, {"policy_groups": [{"name": "b", "members": {"cgroups": ["/system.slice"]}}]})


def test_mem_priority_set_changed_and_inherited_again(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path)
    groups = [{"name": "bg", "mem_priority": "low", "members": {"cgroups": ["/system.slice/report.service"]}},
              {"name": "batch", "parent": "bg"}]
    ops = converge(backend, {"policy_groups": groups})
    assert [op.to_dict() for op in ops if op.op == "set_policy"] == [
        {"op": "set_policy", "group": "bg", "key": "mem_priority", "before": "inherit", "after": "low"}]
    assert kernel.value("bg", "mem_priority") == "low" and kernel.value("bg/batch", "mem_priority") == "inherit"
    assert backend.read_state(effective=True).groups["bg/batch"].effective["mem_priority"] == "low"
    groups[0]["mem_priority"] = "high"
    assert [op.to_dict() for op in converge(backend, {"policy_groups": groups})] == [
        {"op": "set_policy", "group": "bg", "key": "mem_priority", "before": "low", "after": "high"}]
    del groups[0]["mem_priority"]
    assert [op.to_dict() for op in converge(backend, {"policy_groups": groups})] == [
        {"op": "set_policy", "group": "bg", "key": "mem_priority", "before": "high", "after": "inherit"}]
    assert backend.read_state(effective=True).groups["bg/batch"].effective["mem_priority"] == "default"


def test_bind_needs_the_feature(tmp_path: Path) -> None:
    backend = make(tmp_path, features=("thp",))[1]
    with pytest.raises(UnsupportedError, match="'bind' feature"):
        plan(normalize({"policy_groups": [{"name": "a", "members": {"cgroups": ["/x"]}}]}), backend.read_state())


def test_inherit_of_a_missing_feature_is_fine(tmp_path: Path) -> None:
    backend = make(tmp_path, features=("thp",))[1]
    converge(backend, {"policy_groups": [{"name": "a", "thp": "madvise"}]})


def test_undefined_tier_and_offline_node(tmp_path: Path) -> None:
    backend = make(tmp_path, nodes="0")[1]
    with pytest.raises(PlanError, match="swap tier\\(s\\) fast are not defined on this host"):
        plan(normalize({"policy_groups": [{"name": "a", "swap": {"tiers": ["fast"]}}]}), backend.read_state())
    with pytest.raises(PlanError, match="NUMA node\\(s\\) 1 are not online \\(online: 0\\)"):
        plan(normalize({"policy_groups": [{"name": "a", "numa": {"mode": "bind", "nodes": "0-1"}}]}), backend.read_state())


def test_tier_removal_waits_until_groups_stop_naming_it(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path)
    tiers = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
    converge(backend, {"policy_swap_tiers": tiers, "policy_groups": [{"name": "a", "swap": {"tiers": ["fast"]}}]})
    new_tiers = [{"name": "nvme", "start_priority": 200}, {"name": "slow", "start_priority": -1}]
    ops = converge(backend, {"policy_swap_tiers": new_tiers, "policy_groups": [{"name": "a", "swap": {"tiers": ["nvme"]}}]})
    assert kinds(ops) == [("set_tiers", None), ("set_policy", "a"), ("set_tiers", None)]
    assert [t.name for t in ops[0].after] == ["nvme", "fast", "slow"]
    assert kernel.tiers() == tiers_of([("nvme", 200), ("slow", -1)])


def test_lowest_tier_named_by_groups_can_go_through_a_rebuild(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path)
    tiers = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
    converge(backend, {"policy_swap_tiers": tiers, "policy_groups": [{"name": "a", "swap": {"tiers": ["slow"]}}]})
    new = [{"name": "fast", "start_priority": 100}, {"name": "hdd", "start_priority": 50}, {"name": "rest", "start_priority": -1}]
    with pytest.raises(PlanError, match="start priority -1 is taken by new tier 'rest'"):
        plan(normalize({"policy_swap_tiers": new, "policy_groups": [{"name": "a", "swap": {"tiers": ["hdd"]}}]}),
             backend.read_state())
    new = [{"name": "fast", "start_priority": 100}, {"name": "hdd", "start_priority": -1}]
    with pytest.raises(PlanError, match="first add the new tier"):
        plan(normalize({"policy_swap_tiers": new, "policy_groups": [{"name": "a", "swap": {"tiers": ["hdd"]}}]}),
             backend.read_state())
    assert kernel.tiers() == tiers_of([("fast", 100), ("slow", -1)])


def test_tier_named_by_an_unmanaged_group_is_not_removed(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path, initial_tiers=tiers_of([("fast", 100), ("slow", -1)]))
    kernel.mkdir(f"{ROOT}/other")
    kernel.write(f"{ROOT}/other/policy.swap.tiers", "fast")
    with pytest.raises(PlanError, match="swap tier 'fast' cannot be removed: group\\(s\\) other still name it"):
        plan(normalize({"policy_swap_tiers": [{"name": "slow", "start_priority": -1}], "policy_groups": []}),
             backend.read_state())


def test_descendant_kept_under_a_purged_parent_is_refused(tmp_path: Path) -> None:
    backend = make(tmp_path)[1]
    converge(backend, {"policy_groups": [{"name": "p"}, {"name": "c", "parent": "p"}]})
    with pytest.raises(PlanError, match="its ancestor 'p' is to be removed"):
        plan(normalize({"policy_groups": [{"name": "c", "parent": "p"}]}, existing={"p": "p"}), backend.read_state(), True)


def test_swap_value_compared_as_a_set(tmp_path: Path) -> None:
    backend = make(tmp_path)[1]
    tiers = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
    converge(backend, {"policy_swap_tiers": tiers, "policy_groups": [{"name": "a", "swap": {"tiers": ["fast", "slow"]}}]})
    assert plan(normalize({"policy_groups": [{"name": "a", "swap": {"tiers": ["slow", "fast"]}}]}), backend.read_state()) == []


def test_unset_policies_return_to_inherit(tmp_path: Path) -> None:
    backend = make(tmp_path)[1]
    converge(backend, {"policy_groups": [{"name": "a", "thp": "never", "ksm": True}]})
    ops = converge(backend, {"policy_groups": [{"name": "a", "ksm": True}]})
    assert [(op.key, op.before, op.after) for op in ops] == [("thp", "never", "inherit")]


def test_operation_to_dict() -> None:
    op = Operation("set_tiers", None, "tiers", (), tiers_of([("slow", -1)]))
    assert op.to_dict() == {"op": "set_tiers", "group": None, "key": "tiers", "before": [],
                            "after": [{"name": "slow", "start_priority": -1}]}


def test_moving_a_group_takes_its_unlisted_children_down_with_the_old_path(tmp_path: Path) -> None:
    kernel, backend = make(tmp_path)
    kid = {"name": "kid", "parent": "g", "members": {"pids": [102]}}
    converge(backend, {"policy_groups": [{"name": "p"}, {"name": "g"}, kid]})
    ops = converge(backend, {"policy_groups": [{"name": "p"}, {"name": "g", "parent": "p"}]})
    assert kinds(ops) == [("create_group", "p/g"), ("move_members", "g/kid"), ("remove_group", "g/kid"),
                          ("remove_group", "g")]
    assert ops[1].after == "" and kernel.groups() == ["p", "p/g"] and 102 in kernel.procs("")
