"""validate_fleet: every rule, its path and its message; ordering; purity."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._validate import (
    ValidationError,
    validate_fleet,
)

from .fleet_examples import BRIEF_EXAMPLE, FULL_EXAMPLE, doc

Mutation = Callable[[dict[str, Any]], None]


def groups(d: dict[str, Any]) -> list[dict[str, Any]]:
    return d["policy_groups"]


def set_field(index: int, key: str, value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        groups(d)[index][key] = value
    return mutate


def set_member(index: int, kind: str, values: list[Any]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        groups(d)[index].setdefault("members", {})[kind] = values
    return mutate


def set_tier(index: int, key: str, value: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        d["policy_swap_tiers"][index][key] = value
    return mutate


def add_group(group: dict[str, Any]) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        groups(d).append(group)
    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        for m in mutations:
            m(d)
    return mutate


def replace(new: Any) -> Mutation:
    def mutate(d: dict[str, Any]) -> None:
        d.clear()
        d["__replace__"] = new
    return mutate


FIVE_TIERS = [{"name": "t%d" % i, "start_priority": i - 1} for i in range(5)]

# (id, mutation of the brief's example, expected path, expected message)
CASES: list[tuple[str, Mutation, str, str]] = [
    # --- names that could escape the policy root, each explained
    ("name-dotdot", set_field(0, "name", ".."), "policy_groups[0].name",
     "contains '..', which could escape the policy root"),
    ("name-dotdot-inside", set_field(0, "name", "a..b"), "policy_groups[0].name",
     "contains '..', which could escape the policy root"),
    ("name-slash", set_field(0, "name", "a/b"), "policy_groups[0].name",
     "contains '/': a group name is a single path component; nest groups with 'parent' instead"),
    ("name-nul", set_field(0, "name", "a\x00b"), "policy_groups[0].name",
     "contains a NUL byte, which ends a path early in the kernel"),
    ("name-leading-dot", set_field(0, "name", ".hidden"), "policy_groups[0].name",
     "starts with '.', which makes a hidden entry and is reserved for '.' and '..'"),
    ("name-too-long", set_field(0, "name", "a" * 64), "policy_groups[0].name",
     "is 64 characters long; at most 63 are allowed"),
    ("name-empty", set_field(0, "name", ""), "policy_groups[0].name", "must not be empty"),
    ("name-charset", set_field(0, "name", "café"), "policy_groups[0].name",
     "may contain only letters, digits, '_' and '-', and must start with a letter or digit; got 'café'"),
    ("name-leading-dash", set_field(0, "name", "-x"), "policy_groups[0].name",
     "may contain only letters, digits, '_' and '-', and must start with a letter or digit; got '-x'"),
    ("name-trailing-newline", set_field(0, "name", "latency\n"), "policy_groups[0].name",
     "may contain only letters, digits, '_' and '-', and must start with a letter or digit; got 'latency\\n'"),
    ("name-reserved", set_field(0, "name", "tasks"), "policy_groups[0].name",
     "is a reserved name: the kernel has a file of that name in every policy group"),
    ("name-missing", lambda d: groups(d)[0].pop("name"), "policy_groups[0].name", "is required"),
    ("name-not-string", set_field(0, "name", 12), "policy_groups[0].name",
     "expected a string, got an integer 12"),
    # --- unique names
    ("duplicate-group", set_field(2, "name", "latency"), "policy_groups[2].name",
     "duplicate group name 'latency' (also policy_groups[0]); group names are unique fleet-wide"),
    # --- parents
    ("parent-missing", set_field(0, "parent", "ghost"), "policy_groups[0].parent",
     "names 'ghost', which is not a group in policy_groups (groups: background, batch, latency)"),
    ("parent-self", set_field(0, "parent", "latency"), "policy_groups[0].parent",
     "a group cannot be its own parent"),
    ("parent-cycle", set_field(1, "parent", "batch"), "policy_groups[1].parent",
     "parent cycle: background -> batch -> background"),
    ("parent-cycle-3", chain(set_field(0, "parent", "batch"), set_field(1, "parent", "latency")),
     "policy_groups[0].parent", "parent cycle: latency -> batch -> background -> latency"),
    ("parent-absent", set_field(1, "state", "absent"), "policy_groups[2].parent",
     "parent 'background' has state: absent (policy_groups[1]) but this group is present; remove this group "
     "too, or keep its parent"),
    ("parent-unsafe", set_field(2, "parent", "../x"), "policy_groups[2].parent",
     "contains '..', which could escape the policy root"),
    ("parent-type", set_field(2, "parent", 3), "policy_groups[2].parent",
     "expected null or a string, got an integer"),
    # --- state
    ("state-value", set_field(0, "state", "gone"), "policy_groups[0].state",
     "expected one of: present, absent; got 'gone'"),
    # --- swap
    ("swap-unknown-tier", set_field(0, "swap", {"tiers": ["fast", "nvme"]}), "policy_groups[0].swap.tiers[1]",
     "tier 'nvme' is not defined in policy_swap_tiers (defined: fast, slow)"),
    ("swap-no-tiers-defined", chain(lambda d: d.pop("policy_swap_tiers"), lambda d: groups(d)[2].pop("swap")),
     "policy_groups[0].swap.tiers[0]", "tier 'fast' is not defined in policy_swap_tiers (defined: none)"),
    ("swap-duplicate-tier", set_field(0, "swap", {"tiers": ["fast", "slow", "fast"]}),
     "policy_groups[0].swap.tiers[2]",
     "duplicate of policy_groups[0].swap.tiers[0] ('fast'); each entry may appear once"),
    ("swap-empty-tiers", set_field(0, "swap", {"tiers": []}), "policy_groups[0].swap.tiers",
     "must list at least 1 item"),
    ("swap-neither", set_field(0, "swap", {}), "policy_groups[0].swap",
     "must have exactly one of 'tiers' (a list of allowed tier names) or 'enabled: false' (no swap)"),
    ("swap-both", set_field(0, "swap", {"tiers": ["fast"], "enabled": False}), "policy_groups[0].swap",
     "must have exactly one of 'tiers' (a list of allowed tier names) or 'enabled: false' (no swap)"),
    ("swap-enabled-true", set_field(0, "swap", {"enabled": True}), "policy_groups[0].swap.enabled",
     "must be false (no swap at all); to allow swap, list the allowed tiers instead, or omit swap to inherit"),
    ("swap-unknown-key", set_field(0, "swap", {"tiers": ["fast"], "tier": "x"}), "policy_groups[0].swap.tier",
     "unknown field; expected one of: enabled, tiers"),
    ("swap-bad-tier-name", set_field(0, "swap", {"tiers": ["fast-1"]}), "policy_groups[0].swap.tiers[0]",
     "may contain only letters, digits and '_' (the kernel's swap tier syntax); got 'fast-1'"),
    ("swap-too-many-tiers", chain(
        lambda d: d.__setitem__("policy_swap_tiers", [{"name": "t%d" % i, "start_priority": i * 10 - 1}
                                                      for i in range(5)]),
        set_field(0, "swap", {"tiers": ["t0", "t1", "t2", "t3", "t4"]}),
        set_field(2, "swap", {"tiers": ["t0"]})),
     "policy_groups[0].swap.tiers", "names 5 tiers; at most 4 tiers exist (nr_swap_tiers)"),
    # --- scalar policies
    ("thp-value", set_field(0, "thp", "sometimes"), "policy_groups[0].thp",
     "expected one of: inherit, never, madvise, always; got 'sometimes'"),
    ("ksm-string", set_field(1, "ksm", "yes"), "policy_groups[1].ksm",
     "expected a boolean (true or false), got a string 'yes' (write true or false without quotes)"),
    ("zswap-int", set_field(1, "zswap_writeback", 1), "policy_groups[1].zswap_writeback",
     "expected a boolean (true or false), got an integer 1"),
    ("oom-high", set_field(0, "oom_score_adj", 1001), "policy_groups[0].oom_score_adj",
     "must be at most 1000; got 1001"),
    ("oom-low", set_field(0, "oom_score_adj", -1001), "policy_groups[0].oom_score_adj",
     "must be at least -1000; got -1001"),
    ("oom-string", set_field(0, "oom_score_adj", "-500"), "policy_groups[0].oom_score_adj",
     "expected an integer, got a string '-500' (write the number without quotes)"),
    ("oom-bool", set_field(0, "oom_score_adj", True), "policy_groups[0].oom_score_adj",
     "expected an integer, got a boolean True"),
    ("description-type", set_field(0, "description", ["x"]), "policy_groups[0].description",
     "expected a string, got a list ['x']"),
    ("unknown-group-field", set_field(0, "colour", "red"), "policy_groups[0].colour",
     "unknown field; expected one of: description, ksm, members, name, numa, oom_score_adj, parent, state, "
     "swap, thp, zswap_writeback"),
    # --- numa
    ("numa-nodes-required", set_field(0, "numa", {"mode": "bind"}), "policy_groups[0].numa.nodes",
     "is required by modes preferred, bind and interleave"),
    ("numa-nodes-forbidden", set_field(0, "numa", {"mode": "local", "nodes": "0"}), "policy_groups[0].numa.nodes",
     "must be omitted for modes default and local, which take no node list"),
    ("numa-nodes-syntax", set_field(0, "numa", {"mode": "bind", "nodes": "0 - 1"}), "policy_groups[0].numa.nodes",
     "must be a node list such as '0', '0-1' or '0,2-3' (digits, ',' and '-', no spaces); got '0 - 1'"),
    ("numa-nodes-descending", set_field(0, "numa", {"mode": "bind", "nodes": "0,3-1"}),
     "policy_groups[0].numa.nodes", "range '3-1' is descending; write 1-3"),
    ("numa-nodes-int", set_field(0, "numa", {"mode": "bind", "nodes": 0}), "policy_groups[0].numa.nodes",
     "expected a string, got an integer 0"),
    ("numa-mode", set_field(0, "numa", {"mode": "spread", "nodes": "0"}), "policy_groups[0].numa.mode",
     "expected one of: default, local, preferred, bind, interleave; got 'spread'"),
    ("numa-mode-missing", set_field(0, "numa", {"nodes": "0"}), "policy_groups[0].numa.mode", "is required"),
    # --- members
    ("cgroup-relative", set_member(0, "cgroups", ["system.slice/x"]), "policy_groups[0].members.cgroups[0]",
     "must be absolute (start with '/', relative to the cgroup2 mount), did you mean '/system.slice/x'?"),
    ("cgroup-double-slash", set_member(0, "cgroups", ["/a//b"]), "policy_groups[0].members.cgroups[0]",
     "contains '//'; write the normalised path '/a/b'"),
    ("cgroup-dot", set_member(0, "cgroups", ["/a/./b"]), "policy_groups[0].members.cgroups[0]",
     "contains a '.' component; write the normalised path '/a/b'"),
    ("cgroup-dotdot", set_member(0, "cgroups", ["/a/../b"]), "policy_groups[0].members.cgroups[0]",
     "contains a '..' component, which could escape the cgroup it names"),
    ("cgroup-trailing", set_member(0, "cgroups", ["/a/b/"]), "policy_groups[0].members.cgroups[0]",
     "has a trailing '/'; write '/a/b'"),
    ("cgroup-root", set_member(0, "cgroups", ["/"]), "policy_groups[0].members.cgroups[0]",
     "is the root cgroup: binding it would move every task on the host into the group"),
    ("cgroup-newline", set_member(0, "cgroups", ["/a\nb"]), "policy_groups[0].members.cgroups[0]",
     "contains a control character (NUL or newline), which the kernel's bind file cannot carry"),
    ("cgroup-duplicate", set_member(0, "cgroups", ["/a", "/a"]), "policy_groups[0].members.cgroups[1]",
     "duplicate of policy_groups[0].members.cgroups[0] ('/a'); each entry may appear once"),
    ("cgroup-two-groups", set_member(1, "cgroups", ["/system.slice/api.service"]),
     "policy_groups[1].members.cgroups[0]",
     "cgroup '/system.slice/api.service' is also a member of group 'latency' "
     "(policy_groups[0].members.cgroups[0]); it can belong to one group only"),
    ("unit-no-type", set_member(0, "systemd_units", ["api"]), "policy_groups[0].members.systemd_units[0]",
     "must end in a unit type that has a cgroup (.service, .scope, .slice, .socket, .mount, .swap); got 'api'"),
    ("unit-timer", set_member(0, "systemd_units", ["backup.timer"]), "policy_groups[0].members.systemd_units[0]",
     "must end in a unit type that has a cgroup (.service, .scope, .slice, .socket, .mount, .swap); "
     "got 'backup.timer'"),
    ("unit-template", set_member(0, "systemd_units", ["worker@.service"]),
     "policy_groups[0].members.systemd_units[0]",
     "is a template without an instance ('worker@.service'); name an instance such as 'worker@1.service'"),
    ("unit-path", set_member(0, "systemd_units", ["/system.slice/api.service"]),
     "policy_groups[0].members.systemd_units[0]",
     "contains '/': give the unit name (e.g. api.service), or use members.cgroups for a cgroup path"),
    ("unit-two-groups", set_member(0, "systemd_units", ["report.service"]),
     "policy_groups[2].members.systemd_units[0]",
     "unit 'report.service' is also a member of group 'latency' (policy_groups[0].members.systemd_units[0]); "
     "it can belong to one group only"),
    ("pid-zero", set_member(0, "pids", [0]), "policy_groups[0].members.pids[0]", "must be at least 1; got 0"),
    ("pid-max", set_member(0, "pids", [4194305]), "policy_groups[0].members.pids[0]",
     "must be at most 4194304; got 4194305"),
    ("pid-string", set_member(0, "pids", ["12"]), "policy_groups[0].members.pids[0]",
     "expected an integer, got a string '12' (write the number without quotes)"),
    ("pid-two-groups", chain(set_member(0, "pids", [42]), set_member(1, "pids", [42])),
     "policy_groups[1].members.pids[0]",
     "process 42 is also a member of group 'latency' (policy_groups[0].members.pids[0]); it can belong to one "
     "group only"),
    ("members-unknown", set_member(0, "users", ["x"]), "policy_groups[0].members.users",
     "unknown field; expected one of: cgroups, pids, systemd_units"),
    # --- tiers
    ("tier-duplicate-name", set_tier(0, "name", "slow"), "policy_swap_tiers[1].name",
     "duplicate tier name 'slow' (also policy_swap_tiers[0])"),
    ("tier-duplicate-start", set_tier(0, "start_priority", -1), "policy_swap_tiers[1].start_priority",
     "duplicate start priority -1 (also policy_swap_tiers[0]); each tier starts at its own priority"),
    ("tier-no-lowest", set_tier(1, "start_priority", 5), "policy_swap_tiers",
     "no tier starts at -1: the tiers must cover swap priorities -1..32767, so the lowest tier needs "
     "start_priority: -1 (the lowest now starts at 5)"),
    ("tier-priority-high", set_tier(0, "start_priority", 32768), "policy_swap_tiers[0].start_priority",
     "must be at most 32767; got 32768"),
    ("tier-priority-low", set_tier(1, "start_priority", -2), "policy_swap_tiers[1].start_priority",
     "must be at least -1; got -2"),
    ("tier-name-long", set_tier(0, "name", "a" * 16), "policy_swap_tiers[0].name",
     "is 16 characters long; swap tier names have at most 15"),
    ("tier-missing-start", lambda d: d["policy_swap_tiers"][0].pop("start_priority"),
     "policy_swap_tiers[0].start_priority", "is required"),
    ("tier-too-many", lambda d: d.__setitem__("policy_swap_tiers", FIVE_TIERS),
     "policy_swap_tiers", "defines 5 tiers; the kernel allows at most 4 (nr_swap_tiers, the kernel's "
     "CONFIG_NR_SWAP_TIERS)"),
    # --- document shape
    ("groups-not-list", lambda d: d.__setitem__("policy_groups", {"name": "x"}), "policy_groups",
     "expected a list, got a mapping {'name': 'x'}"),
    ("group-not-mapping", lambda d: groups(d).append("latency"), "policy_groups[3]",
     "expected a mapping, got a string 'latency'"),
    ("unknown-top-level", lambda d: d.__setitem__("policy_group", []), "policy_group",
     "unknown field; expected one of: policy_groups, policy_swap_tiers"),
]


@pytest.mark.parametrize("mutation, path, message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(mutation: Mutation, path: str, message: str) -> None:
    d = doc()
    mutation(d)
    errors = validate_fleet(d)
    assert ValidationError(path, message) in errors, "\n".join(str(e) for e in errors)


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("example", [BRIEF_EXAMPLE, FULL_EXAMPLE, {}], ids=["brief", "full", "empty"])
def test_valid_documents_have_no_errors(example: dict[str, Any]) -> None:
    assert validate_fleet(copy.deepcopy(example)) == []


def test_document_not_a_mapping() -> None:
    assert validate_fleet(["x"]) == [ValidationError("(document)", "expected a mapping, got a list ['x']")]


def test_error_str_is_path_colon_message() -> None:
    assert str(ValidationError("policy_groups[3].swap.tiers[1]", "bad")) == "policy_groups[3].swap.tiers[1]: bad"
    assert ValidationError("a", "b").to_dict() == {"path": "a", "message": "b"}


def test_error_is_frozen() -> None:
    error = ValidationError("a", "b")
    with pytest.raises(AttributeError):
        error.path = "c"  # type: ignore[misc]


def test_all_errors_reported_in_document_order() -> None:
    d = doc()
    for index in range(3):
        groups(d)[index]["oom_score_adj"] = 2000
    groups(d).extend({"name": "g%d" % i, "thp": "x"} for i in range(9))  # indices 3..11 sort numerically
    d["policy_swap_tiers"][0]["start_priority"] = 99999
    paths = [e.path for e in validate_fleet(d)]
    assert paths == (["policy_groups[%d].oom_score_adj" % i for i in range(3)]
                     + ["policy_groups[%d].thp" % i for i in range(3, 12)]
                     + ["policy_swap_tiers[0].start_priority"])


def test_deterministic_and_pure() -> None:
    d = doc(FULL_EXAMPLE)
    d["policy_groups"][0]["thp"] = "x"
    groups(d)[1]["parent"] = "nobody"
    before = copy.deepcopy(d)
    first = validate_fleet(d)
    assert validate_fleet(d) == first
    assert d == before


def test_no_error_reported_twice() -> None:
    d = doc()
    groups(d)[0]["name"] = "tasks"
    groups(d)[0]["swap"] = {"tiers": ["fast", "fast"]}
    errors = validate_fleet(d)
    assert len(errors) == len(set(errors))


def test_nr_swap_tiers_parameter() -> None:
    d = doc()
    d["policy_swap_tiers"] = [{"name": "t%d" % i, "start_priority": i - 1} for i in range(6)]
    for g in groups(d):
        g.pop("swap", None)
    assert validate_fleet(d, nr_swap_tiers=8) == []
    assert [e.path for e in validate_fleet(d, nr_swap_tiers=5)] == ["policy_swap_tiers"]


@pytest.mark.parametrize("bad", [0, 32, -1, True, "4"])
def test_nr_swap_tiers_out_of_range(bad: Any) -> None:
    with pytest.raises(ValueError, match="nr_swap_tiers must be an integer 1..31"):
        validate_fleet({}, nr_swap_tiers=bad)


def test_absent_group_may_keep_absent_children_and_members() -> None:
    d = doc()
    groups(d)[1]["state"] = "absent"
    groups(d)[2]["state"] = "absent"
    groups(d)[0]["members"]["pids"] = [7]
    groups(d)[2]["members"]["pids"] = [7]  # an absent group's members do not conflict
    assert validate_fleet(d) == []


def test_absent_group_may_name_a_parent_that_is_gone() -> None:
    d = doc()
    groups(d)[2]["state"] = "absent"
    groups(d).pop(1)  # background is no longer in the document; batch is removed by name
    assert validate_fleet(d) == []
    groups(d)[1]["state"] = "present"
    assert [e.path for e in validate_fleet(d)] == ["policy_groups[1].parent"]


def test_cycle_reported_once_even_when_entered_from_outside() -> None:
    d = doc()
    groups(d)[0]["parent"] = "batch"        # latency -> batch -> background -> batch ...
    groups(d)[1]["parent"] = "batch"
    errors = [e for e in validate_fleet(d) if "cycle" in e.message]
    assert errors == [ValidationError("policy_groups[1].parent", "parent cycle: background -> batch -> background")]


def test_parent_order_does_not_matter() -> None:
    d = doc()
    groups(d).reverse()
    assert validate_fleet(d) == []
