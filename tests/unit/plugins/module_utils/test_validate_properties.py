"""Property tests: random valid fleets validate cleanly; each mutation is reported at the mutated path."""

from __future__ import annotations

import copy
import string
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.policygroups.core.plugins.module_utils._engine._names import RESERVED_GROUP_NAMES, RESERVED_TIER_NAMES
from ansible_collections.policygroups.core.plugins.module_utils._fleet._validate import validate_fleet

NR_TIERS = 4
UNDEFINED_TIER = "undefined_tier"

tier_names = st.text(string.ascii_letters + string.digits + "_", min_size=1, max_size=15).filter(
    lambda n: n != UNDEFINED_TIER and n not in RESERVED_TIER_NAMES)
group_names = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,62}\Z").filter(lambda n: n not in RESERVED_GROUP_NAMES)
components = st.text(string.ascii_letters + string.digits + "_-.@:", min_size=1, max_size=12).filter(
    lambda c: c not in (".", ".."))
cgroup_paths = st.lists(components, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
unit_names = st.builds(lambda base, kind: "%s.%s" % (base, kind),
                       st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=20),
                       st.sampled_from(["service", "scope", "slice", "socket", "mount", "swap"]))
node_lists = st.lists(st.tuples(st.integers(0, 63), st.integers(0, 8)), min_size=1, max_size=3).map(
    lambda parts: ",".join(str(a) if not b else "%d-%d" % (a, a + b) for a, b in parts))
numa = st.one_of(
    st.builds(lambda m: {"mode": m}, st.sampled_from(["default", "local"])),
    st.builds(lambda m, n: {"mode": m, "nodes": n}, st.sampled_from(["preferred", "bind", "interleave"]), node_lists))


@st.composite
def tiers(draw: Callable[..., Any], min_size: int = 0) -> list[dict[str, Any]]:
    names = draw(st.lists(tier_names, min_size=min_size, max_size=NR_TIERS, unique=True))
    if not names:
        return []
    starts = [-1] + draw(st.lists(st.integers(0, 32767), min_size=len(names) - 1, max_size=len(names) - 1,
                                  unique=True))
    order = draw(st.permutations(range(len(names))))
    return [{"name": names[i], "start_priority": starts[i]} for i in order]


@st.composite
def policies(draw: Callable[..., Any], tier_list: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    swap_choices = [st.just({"enabled": False})]
    if tier_list:
        swap_choices.append(st.lists(st.sampled_from(tier_list), min_size=1, unique=True).map(
            lambda t: {"tiers": t}))
    optional = {
        "description": st.text(max_size=40),
        "swap": st.one_of(*swap_choices),
        "zswap_writeback": st.booleans(),
        "thp": st.sampled_from(["inherit", "never", "madvise", "always"]),
        "ksm": st.booleans(),
        "oom_score_adj": st.integers(-1000, 1000),
        "numa": numa,
        "mem_priority": st.sampled_from(["low", "normal", "high"]),
    }
    for key in draw(st.lists(st.sampled_from(sorted(optional)), unique=True)):
        out[key] = draw(optional[key])
    return out


@st.composite
def fleets(draw: Callable[..., Any], min_tiers: int = 0, min_groups: int = 0) -> dict[str, Any]:
    tier_defs = draw(tiers(min_tiers))
    tier_list = [t["name"] for t in tier_defs]
    names = draw(st.lists(group_names, min_size=min_groups, max_size=8, unique=True))
    groups: list[dict[str, Any]] = []
    used: set[Any] = set()
    for index, name in enumerate(names):
        group: dict[str, Any] = {"name": name}
        parent = draw(st.one_of(st.none(), st.sampled_from(groups))) if groups else None
        if parent is not None:
            group["parent"] = parent["name"]
        # A present group never sits under an absent one.
        absent = draw(st.booleans()) if index and draw(st.integers(0, 3)) == 0 else False
        if parent is not None and parent.get("state") == "absent":
            absent = True
        if absent:
            group["state"] = "absent"
        elif draw(st.booleans()):
            group["state"] = "present"
        group.update(draw(policies(tier_list)))
        members: dict[str, list[Any]] = {}
        for kind, strategy in (("cgroups", cgroup_paths), ("systemd_units", unit_names),
                               ("pids", st.integers(1, 4194304))):
            values = [v for v in draw(st.lists(strategy, max_size=3, unique=True)) if (kind, v) not in used]
            if values:
                members[kind] = values
                if not absent:
                    used.update((kind, v) for v in values)
        if members:
            group["members"] = members
        groups.append(group)
    order = draw(st.permutations(range(len(groups))))
    doc: dict[str, Any] = {"policy_groups": [groups[i] for i in order]}
    if tier_defs or draw(st.booleans()):
        doc["policy_swap_tiers"] = tier_defs
    return doc


PROPERTY_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(fleets())
def test_random_valid_fleets_have_no_errors(doc: dict[str, Any]) -> None:
    assert validate_fleet(doc) == []


def _mutations(doc: dict[str, Any], index: int) -> dict[str, Callable[[dict[str, Any]], str]]:
    """Named mutations of group ``index``; each returns the path where an error must be reported."""
    base = "policy_groups[%d] (%s)" % (index, doc["policy_groups"][index]["name"])

    def unsafe_name(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["name"] = "../" + d["policy_groups"][index]["name"]
        return "policy_groups[%d].name" % index  # a name in error is not repeated in the path

    def undefined_tier(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["swap"] = {"tiers": [UNDEFINED_TIER]}
        return base + ".swap.tiers[0]"

    def unknown_field(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["colour"] = "red"
        return base + ".colour"

    def oom_range(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["oom_score_adj"] = 1001
        return base + ".oom_score_adj"

    def self_parent(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["parent"] = d["policy_groups"][index]["name"]
        return base + ".parent"

    def missing_parent(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["parent"] = "missing-parent-group-" + "x" * 40
        d["policy_groups"][index]["state"] = "present"  # an absent group may name a parent that is gone
        return base + ".parent"

    def bad_cgroup(d: dict[str, Any]) -> str:
        members = d["policy_groups"][index].setdefault("members", {})
        members.setdefault("cgroups", []).append("/a/../b")
        return base + ".members.cgroups[%d]" % (len(members["cgroups"]) - 1)

    def bad_thp(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["thp"] = "sometimes"
        return base + ".thp"

    def ksm_string(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["ksm"] = "yes"
        return base + ".ksm"

    def swap_both(d: dict[str, Any]) -> str:
        d["policy_groups"][index]["swap"] = {"tiers": ["x"], "enabled": False}
        return base + ".swap"

    def duplicate_name(d: dict[str, Any]) -> str:
        d["policy_groups"].append(copy.deepcopy(d["policy_groups"][index]))
        d["policy_groups"][-1].pop("members", None)
        return "policy_groups[%d].name" % (len(d["policy_groups"]) - 1)

    mutations = (unsafe_name, undefined_tier, unknown_field, oom_range, self_parent, missing_parent, bad_cgroup,
                 bad_thp, ksm_string, swap_both, duplicate_name)
    return {f.__name__: f for f in mutations}


@PROPERTY_SETTINGS
@given(fleets(min_groups=1), st.data())
def test_mutations_are_reported_at_the_mutated_path(doc: dict[str, Any], data: st.DataObject) -> None:
    index = data.draw(st.integers(0, len(doc["policy_groups"]) - 1), label="group")
    mutations = _mutations(doc, index)
    name = data.draw(st.sampled_from(sorted(mutations)), label="mutation")
    path = mutations[name](doc)
    errors = validate_fleet(doc)
    assert path in {e.path for e in errors}, (name, [str(e) for e in errors])


@PROPERTY_SETTINGS
@given(fleets(min_tiers=2), st.data())
def test_tier_mutations_are_reported(doc: dict[str, Any], data: st.DataObject) -> None:
    tiers_ = doc["policy_swap_tiers"]
    i, j = data.draw(st.lists(st.integers(0, len(tiers_) - 1), min_size=2, max_size=2, unique=True))
    field = data.draw(st.sampled_from(["name", "start_priority"]))
    tiers_[j][field] = tiers_[i][field]
    later = max(i, j)
    assert "policy_swap_tiers[%d].%s" % (later, field) in {e.path for e in validate_fleet(doc)}
