"""validate_fleet: every rule, its path and its message; ordering; purity."""

from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import (
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


# The brief's groups by index: a path names the group as well (policy_groups[0] (latency).thp).
NAMES = ("latency", "background", "batch")


def group_at(index: int, key: str = "") -> str:
    """The path of a group as errors print it; a group whose name is itself in error is shown by index only."""
    return "policy_groups[%d]" % index if key == "name" else "policy_groups[%d] (%s)" % (index, NAMES[index])


Case = tuple[str, Mutation, str, str]  # (id, mutation of the brief's example, expected path, expected message)
Row = tuple[str, Any, str]  # (id, value, expected message)


def field_cases(index: int, key: str, rows: list[Row], at: str = "") -> list[Case]:
    """Cases that set ``policy_groups[index].<key>`` to a value and expect the error at that field (or ``at`` in it)."""
    path = "%s.%s%s" % (group_at(index, key), key, at)
    return [(case_id, set_field(index, key, value), path, message) for case_id, value, message in rows]


def member_cases(kind: str, rows: list[Row]) -> list[Case]:
    """Cases that make a value the only member of its kind of the first group, and expect the error at it."""
    path = "policy_groups[0] (latency).members.%s[0]" % kind
    return [(case_id, set_member(0, kind, [value]), path, message) for case_id, value, message in rows]


def tier_cases(index: int, key: str, rows: list[Row]) -> list[Case]:
    """Cases that set ``policy_swap_tiers[index].<key>`` and expect the error at that field."""
    path = "policy_swap_tiers[%d].%s" % (index, key)
    return [(case_id, set_tier(index, key, value), path, message) for case_id, value, message in rows]


FIVE_TIERS = [{"name": "t%d" % i, "start_priority": i - 1} for i in range(5)]
ESCAPES = "contains '..', which could escape the policy root"
NAME_CHARSET = "may contain only letters, digits, '_' and '-', and must start with a letter or digit; got %s"
ONE_OF_SWAP = "must have exactly one of 'tiers' (a list of allowed tier names) or 'enabled: false' (no swap)"
UNIT_TYPE = "must end in a unit type that has a cgroup (.service, .scope, .slice, .socket, .mount, .swap); got %s"
BOOLEAN = "expected a boolean (true or false), got %s"
GROUP_FIELDS = ("description, ksm, mem_priority, members, name, numa, oom_score_adj, parent, state, swap, thp, "
                "zswap_writeback")
WORD_HINT = " (YAML reads an unquoted yes, no, on, off, true or false as a boolean; to mean the word, quote it: %s)"
WORD_FALSE = WORD_HINT % "'no', 'off'"
WORD_TRUE = WORD_HINT % "'yes', 'on'"
NUMBER_IN_QUOTES = "expected an integer, got a string %s (write the number without quotes)"

CASES: list[Case] = [
    # --- names that could escape the policy root, each explained
    *field_cases(0, "name", [
        ("name-dotdot", "..", ESCAPES),
        ("name-dotdot-inside", "a..b", ESCAPES),
        ("name-slash", "a/b",
         "contains '/': a group name is a single path component; nest groups with 'parent' instead"),
        ("name-nul", "a\x00b", "contains a NUL byte, which ends a path early in the kernel"),
        ("name-leading-dot", ".hidden", "starts with '.', which makes a hidden entry and is reserved for '.' and '..'"),
        ("name-too-long", "a" * 64, "is 64 characters long; at most 63 are allowed"),
        ("name-empty", "", "must not be empty"),
        ("name-charset", "café", NAME_CHARSET % "'café'"),
        ("name-leading-dash", "-x", NAME_CHARSET % "'-x'"),
        ("name-trailing-newline", "latency\n", NAME_CHARSET % "'latency\\n'"),
        ("name-reserved", "tasks", "is a reserved name: the kernel has a file of that name in every policy group"),
        ("name-not-string", 12, "expected a string, got an integer 12"),
    ]),
    ("name-missing", lambda d: groups(d)[0].pop("name"), "policy_groups[0].name", "is required"),
    # --- unique names
    ("duplicate-group", set_field(2, "name", "latency"), "policy_groups[2].name",
     "duplicate group name 'latency' (also policy_groups[0]); group names are unique fleet-wide"),
    # --- parents
    *field_cases(0, "parent", [
        ("parent-missing", "ghost",
         "names 'ghost', which is not a group in policy_groups (groups: background, batch, latency)"),
        ("parent-self", "latency", "a group cannot be its own parent"),
    ]),
    ("parent-cycle", set_field(1, "parent", "batch"), "policy_groups[1] (background).parent",
     "parent cycle: background -> batch -> background"),
    ("parent-cycle-3", chain(set_field(0, "parent", "batch"), set_field(1, "parent", "latency")),
     "policy_groups[0] (latency).parent", "parent cycle: latency -> batch -> background -> latency"),
    ("parent-absent", set_field(1, "state", "absent"), "policy_groups[2] (batch).parent",
     "parent 'background' has state: absent (policy_groups[1]) but this group is present; remove this group "
     "too, or keep its parent"),
    *field_cases(2, "parent", [
        ("parent-unsafe", "../x", ESCAPES),
        ("parent-type", 3, "expected null or a string, got an integer"),
    ]),
    # --- state
    *field_cases(0, "state", [("state-value", "gone", "expected one of: present, absent; got 'gone'")]),
    # --- swap
    ("swap-unknown-tier", set_field(0, "swap", {"tiers": ["fast", "nvme"]}), "policy_groups[0] (latency).swap.tiers[1]",
     "tier 'nvme' is not defined in policy_swap_tiers (defined: fast, slow)"),
    ("swap-no-tiers-defined", chain(lambda d: d.pop("policy_swap_tiers"), lambda d: groups(d)[2].pop("swap")),
     "policy_groups[0] (latency).swap.tiers[0]", "tier 'fast' is not defined in policy_swap_tiers (defined: none)"),
    ("swap-duplicate-tier", set_field(0, "swap", {"tiers": ["fast", "slow", "fast"]}),
     "policy_groups[0] (latency).swap.tiers[2]",
     "duplicate of policy_groups[0].swap.tiers[0] ('fast'); each entry may appear once"),
    ("swap-empty-tiers", set_field(0, "swap", {"tiers": []}), "policy_groups[0] (latency).swap.tiers",
     "must list at least 1 item"),
    *field_cases(0, "swap", [
        ("swap-neither", {}, ONE_OF_SWAP),
        ("swap-both", {"tiers": ["fast"], "enabled": False}, ONE_OF_SWAP),
    ]),
    ("swap-enabled-true", set_field(0, "swap", {"enabled": True}), "policy_groups[0] (latency).swap.enabled",
     "must be false (no swap at all); to allow swap, list the allowed tiers instead, or omit swap to inherit"),
    ("swap-unknown-key", set_field(0, "swap", {"tiers": ["fast"], "tier": "x"}), "policy_groups[0] (latency).swap.tier",
     "unknown field; did you mean 'tiers'? (expected one of: enabled, tiers)"),
    ("swap-bad-tier-name", set_field(0, "swap", {"tiers": ["fast-1"]}), "policy_groups[0] (latency).swap.tiers[0]",
     "may contain only letters, digits and '_' (the kernel's swap tier syntax); got 'fast-1'"),
    ("swap-too-many-tiers", chain(
        lambda d: d.__setitem__("policy_swap_tiers", [{"name": "t%d" % i, "start_priority": i * 10 - 1}
                                                      for i in range(5)]),
        set_field(0, "swap", {"tiers": ["t0", "t1", "t2", "t3", "t4"]}),
        set_field(2, "swap", {"tiers": ["t0"]})),
     "policy_groups[0] (latency).swap.tiers", "names 5 tiers; at most 4 tiers exist (nr_swap_tiers)"),
    # --- scalar policies
    *field_cases(0, "thp", [
        ("thp-value", "sometimes", "expected one of: inherit, never, madvise, always; got 'sometimes'"),
    ]),
    *field_cases(1, "ksm", [
        ("ksm-string", "yes", BOOLEAN % "a string 'yes' (write true or false without quotes)"),
    ]),
    *field_cases(1, "zswap_writeback", [("zswap-int", 1, BOOLEAN % "an integer 1")]),
    *field_cases(2, "mem_priority", [
        ("mem-priority-value", "lowest", "expected one of: low, normal, high; got 'lowest'"),
        ("mem-priority-inherit", "inherit", "expected one of: low, normal, high; got 'inherit'"),
        ("mem-priority-int", 1, "expected one of: low, normal, high; got 1"),
        ("mem-priority-bool", False, "expected one of: low, normal, high; got False" + WORD_FALSE),
    ]),
    *field_cases(0, "oom_score_adj", [
        ("oom-high", 1001, "must be at most 1000; got 1001"),
        ("oom-low", -1001, "must be at least -1000; got -1001"),
        ("oom-string", "-500", NUMBER_IN_QUOTES % "'-500'"),
        ("oom-bool", True, "expected an integer, got a boolean True"),
    ]),
    *field_cases(0, "description", [("description-type", ["x"], "expected a string, got a list ['x']")]),
    *field_cases(0, "colour", [
        ("unknown-group-field", "red", "unknown field; expected one of: " + GROUP_FIELDS),
    ]),
    # --- numa
    *field_cases(0, "numa", [
        ("numa-nodes-required", {"mode": "bind"}, "is required by modes preferred, bind and interleave"),
        ("numa-nodes-forbidden", {"mode": "local", "nodes": "0"},
         "must be omitted for modes default and local, which take no node list"),
        ("numa-nodes-syntax", {"mode": "bind", "nodes": "0 - 1"},
         "must be a node list such as '0', '0-1' or '0,2-3' (digits, ',' and '-', no spaces); got '0 - 1'"),
        ("numa-nodes-descending", {"mode": "bind", "nodes": "0,3-1"}, "range '3-1' is descending; write 1-3"),
        ("numa-nodes-int", {"mode": "bind", "nodes": 0}, "expected a string, got an integer 0"),
    ], at=".nodes"),
    *field_cases(0, "numa", [
        ("numa-mode", {"mode": "spread", "nodes": "0"},
         "expected one of: default, local, preferred, bind, interleave; got 'spread'"),
        ("numa-mode-missing", {"nodes": "0"}, "is required"),
    ], at=".mode"),
    # --- members
    *member_cases("cgroups", [
        ("cgroup-relative", "system.slice/x",
         "must be absolute (start with '/', relative to the cgroup2 mount), did you mean '/system.slice/x'?"),
        ("cgroup-double-slash", "/a//b", "contains '//'; write the normalised path '/a/b'"),
        ("cgroup-dot", "/a/./b", "contains a '.' component; write the normalised path '/a/b'"),
        ("cgroup-dotdot", "/a/../b", "contains a '..' component, which could escape the cgroup it names"),
        ("cgroup-trailing", "/a/b/", "has a trailing '/'; write '/a/b'"),
        ("cgroup-root", "/", "is the root cgroup: binding it would move every task on the host into the group"),
        ("cgroup-newline", "/a\nb",
         "contains a control character (NUL or newline), which the kernel's bind file cannot carry"),
    ]),
    ("cgroup-duplicate", set_member(0, "cgroups", ["/a", "/a"]), "policy_groups[0] (latency).members.cgroups[1]",
     "duplicate of policy_groups[0].members.cgroups[0] ('/a'); each entry may appear once"),
    ("cgroup-two-groups", set_member(1, "cgroups", ["/system.slice/api.service"]),
     "policy_groups[1] (background).members.cgroups[0]",
     "cgroup '/system.slice/api.service' is also a member of group 'latency' "
     "(policy_groups[0].members.cgroups[0]); it can belong to one group only"),
    *member_cases("systemd_units", [
        ("unit-no-type", "api", UNIT_TYPE % "'api'"),
        ("unit-timer", "backup.timer", UNIT_TYPE % "'backup.timer'"),
        ("unit-template", "worker@.service",
         "is a template without an instance ('worker@.service'); name an instance such as 'worker@1.service'"),
        ("unit-path", "/system.slice/api.service",
         "contains '/': give the unit name (e.g. api.service), or use members.cgroups for a cgroup path"),
    ]),
    ("unit-two-groups", set_member(0, "systemd_units", ["report.service"]),
     "policy_groups[2] (batch).members.systemd_units[0]",
     "unit 'report.service' is also a member of group 'latency' (policy_groups[0].members.systemd_units[0]); "
     "it can belong to one group only"),
    *member_cases("pids", [
        ("pid-zero", 0, "must be at least 1; got 0"),
        ("pid-max", 4194305, "must be at most 4194304; got 4194305"),
        ("pid-string", "12", NUMBER_IN_QUOTES % "'12'"),
    ]),
    ("pid-two-groups", chain(set_member(0, "pids", [42]), set_member(1, "pids", [42])),
     "policy_groups[1] (background).members.pids[0]",
     "process 42 is also a member of group 'latency' (policy_groups[0].members.pids[0]); it can belong to one "
     "group only"),
    ("members-unknown", set_member(0, "users", ["x"]), "policy_groups[0] (latency).members.users",
     "unknown field; expected one of: cgroups, pids, systemd_units"),
    # --- tiers
    ("tier-reserved-name", set_tier(0, "name", "none"), "policy_swap_tiers[0].name",
     "is a reserved word (default, inherit, none are values of policy.swap.tiers, not tier names)"),
    ("tier-duplicate-name", set_tier(0, "name", "slow"), "policy_swap_tiers[1].name",
     "duplicate tier name 'slow' (also policy_swap_tiers[0])"),
    ("tier-duplicate-start", set_tier(0, "start_priority", -1), "policy_swap_tiers[1].start_priority",
     "duplicate start priority -1 (also policy_swap_tiers[0]); each tier starts at its own priority"),
    ("tier-no-lowest", set_tier(1, "start_priority", 5), "policy_swap_tiers",
     "no tier starts at -1: the tiers must cover swap priorities -1..32767, so the lowest tier needs "
     "start_priority: -1 (the lowest now starts at 5)"),
    *tier_cases(0, "start_priority", [("tier-priority-high", 32768, "must be at most 32767; got 32768")]),
    *tier_cases(1, "start_priority", [("tier-priority-low", -2, "must be at least -1; got -2")]),
    *tier_cases(0, "name", [("tier-name-long", "a" * 16, "is 16 characters long; swap tier names have at most 15")]),
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
     "unknown field; did you mean 'policy_groups'? (expected one of: policy_groups, policy_swap_tiers)"),
    ("unknown-top-level-far", lambda d: d.__setitem__("vendor", []), "vendor",
     "unknown field; expected one of: policy_groups, policy_swap_tiers"),
    # --- typos get the field that was probably meant
    *field_cases(0, "oom_score", [
        ("typo-oom", -100, "unknown field; did you mean 'oom_score_adj'? (expected one of: %s)" % GROUP_FIELDS),
    ]),
    ("typo-members-kind", set_member(2, "systemd_unit", ["x.service"]), "policy_groups[2] (batch).members.systemd_unit",
     "unknown field; did you mean 'systemd_units'? (expected one of: cgroups, pids, systemd_units)"),
    ("typo-tier-field", set_tier(0, "priority", 5), "policy_swap_tiers[0].priority",
     "unknown field; did you mean 'start_priority'? (expected one of: name, start_priority)"),
    ("boolean-key", set_field(0, "True", 1), "policy_groups[0] (latency).True",
     "unknown field; expected one of: %s (a key written yes, no, on, off, true or false is read by YAML as a "
     "boolean)" % GROUP_FIELDS),
    # --- YAML's boolean words where a word was meant
    *field_cases(0, "thp", [
        ("thp-off", False, "expected one of: inherit, never, madvise, always; got False" + WORD_FALSE),
        ("thp-on", True, "expected one of: inherit, never, madvise, always; got True" + WORD_TRUE),
    ]),
    *field_cases(0, "description", [("description-yes", True, "expected a string, got a boolean True" + WORD_TRUE)]),
    ("tier-off", set_field(0, "swap", {"tiers": [False]}), "policy_groups[0] (latency).swap.tiers[0]",
     "expected a string, got a boolean False" + WORD_FALSE),
    ("name-no", set_field(0, "name", False), "policy_groups[0].name", "expected a string, got a boolean False"
     + WORD_FALSE),
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
    assert paths == (["%s.oom_score_adj" % group_at(i) for i in range(3)]
                     + ["policy_groups[%d] (g%d).thp" % (i, i - 3) for i in range(3, 12)]
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


@pytest.mark.parametrize("bad", [0, 31, 32, -1, True, "4"])
def test_nr_swap_tiers_out_of_range(bad: Any) -> None:
    # 1..30: the kernel's CONFIG_NR_SWAP_TIERS range (bit 30 of its tier word carries zswap writeback)
    with pytest.raises(ValueError, match="nr_swap_tiers must be an integer 1..30"):
        validate_fleet({}, nr_swap_tiers=bad)


def test_nr_swap_tiers_upper_bound_is_accepted() -> None:
    assert validate_fleet({}, nr_swap_tiers=30) == []


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
    assert [e.path for e in validate_fleet(d)] == ["policy_groups[1] (batch).parent"]


def test_cycle_reported_once_even_when_entered_from_outside() -> None:
    d = doc()
    groups(d)[0]["parent"] = "batch"        # latency -> batch -> background -> batch ...
    groups(d)[1]["parent"] = "batch"
    errors = [e for e in validate_fleet(d) if "cycle" in e.message]
    assert errors == [ValidationError("policy_groups[1] (background).parent",
                                      "parent cycle: background -> batch -> background")]


def test_group_named_in_every_path_into_it() -> None:
    d = doc()
    groups(d)[1]["oom_score_adj"] = "high"
    groups(d)[1]["members"] = {"pids": [0]}
    assert [e.path for e in validate_fleet(d)] == ["policy_groups[1] (background).members.pids[0]",
                                                   "policy_groups[1] (background).oom_score_adj"]


@pytest.mark.parametrize("name", [12, None, "a/b", "tasks"], ids=["int", "null", "slash", "reserved"])
def test_group_with_a_bad_name_is_shown_by_index(name: Any) -> None:
    d = doc()
    groups(d)[1]["name"] = name
    groups(d)[1]["thp"] = "x"
    errors = validate_fleet(d)
    assert "policy_groups[1].thp" in [e.path for e in errors], errors


def test_parent_order_does_not_matter() -> None:
    d = doc()
    groups(d).reverse()
    assert validate_fleet(d) == []
