"""normalize(): the fleet document to typed, kernel-ready desired state; refusals name the exact place."""

from __future__ import annotations

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import ModelError
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import (
    TierSpec,
    document_policies,
    normalize,
    parse_nodelist,
    render_nodelist,
)

DOC = {
    "policy_swap_tiers": [{"name": "slow", "start_priority": -1}, {"name": "fast", "start_priority": 100}],
    "policy_groups": [
        {"name": "batch", "parent": "background", "swap": {"tiers": ["slow", "fast"]}, "ksm": True,
         "members": {"systemd_units": ["report.service"], "cgroups": ["/b", "/a", "/a"]}},
        {"name": "background", "thp": "never", "zswap_writeback": False, "numa": {"mode": "interleave", "nodes": "1,0"},
         "mem_priority": "low"},
        {"name": "latency", "description": "api", "swap": {"enabled": False}, "oom_score_adj": -500,
         "members": {"pids": [30, 10, 10]}},
        {"name": "gone", "state": "absent"},
    ],
}


def test_paths_policies_and_order() -> None:
    policy = normalize(DOC)
    assert [g.path for g in policy.groups] == ["background", "gone", "latency", "background/batch"]
    assert policy.tiers == (TierSpec("fast", 100), TierSpec("slow", -1))
    batch = policy.group("batch")
    assert batch is not None
    assert dict(batch.policies) == {"thp": "inherit", "ksm": "1", "oom_score_adj": "inherit",
                                    "swap_tiers": "slow fast", "zswap_writeback": "inherit", "numa": "inherit",
                                    "mem_priority": "inherit"}
    assert batch.members.cgroups == ("/a", "/b") and batch.members.systemd_units == ("report.service",)
    background = policy.group("background")
    assert background is not None
    assert background.policies["numa"] == "interleave:0-1"
    assert background.policies["zswap_writeback"] == "0"
    assert background.policies["mem_priority"] == "low"  # the kernel's word, written as is
    latency = policy.group("latency")
    assert latency is not None
    assert latency.policies["swap_tiers"] == "none" and latency.policies["oom_score_adj"] == "-500"
    assert latency.members.pids == (10, 30)
    assert not policy.group("gone").present  # type: ignore[union-attr]


def test_tiers_unmanaged_when_key_absent() -> None:
    assert normalize({"policy_groups": []}).tiers is None
    assert normalize({"policy_swap_tiers": [], "policy_groups": []}).tiers == ()


def test_existing_parent_on_host() -> None:
    policy = normalize({"policy_groups": [{"name": "c", "parent": "p"}]}, existing={"p": "top/p"})
    assert policy.groups[0].path == "top/p/c"


@pytest.mark.parametrize("name", ["..", ".hidden", "a/b", "", "a\0b", "x" * 64, "-lead", "a b", 7, None])
def test_unsafe_group_names_refused(name: object) -> None:
    with pytest.raises(ModelError, match=r"policy_groups\[0\]\.name"):
        normalize({"policy_groups": [{"name": name}]})


def test_longest_name_accepted() -> None:
    assert normalize({"policy_groups": [{"name": "x" * 63}]}).groups[0].path == "x" * 63


@pytest.mark.parametrize(
    ("groups", "where", "what"),
    [
        ([{"name": "a", "parent": "nope"}], r"policy_groups\[0\]\.parent", "neither defined"),
        ([{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}], r"policy_groups\[\d\]\.parent", "cycle"),
        ([{"name": "a", "parent": "a"}], r"policy_groups\[0\]\.parent", "own parent"),
        ([{"name": "a"}, {"name": "a"}], r"policy_groups\[1\]\.name", "duplicate group name 'a'"),
        ([{"name": "p", "state": "absent"}, {"name": "c", "parent": "p"}], r"policy_groups\[1\]\.parent", "absent"),
        ([{"name": "a", "thp": "sometimes"}], r"policy_groups\[0\]\.thp", "not one of"),
        ([{"name": "a", "ksm": "yes"}], r"policy_groups\[0\]\.ksm", "true or false"),
        ([{"name": "a", "oom_score_adj": 1001}], r"policy_groups\[0\]\.oom_score_adj", "-1000..1000"),
        ([{"name": "a", "oom_score_adj": True}], r"policy_groups\[0\]\.oom_score_adj", "-1000..1000"),
        ([{"name": "a", "swap": {"tiers": ["f"], "enabled": False}}], r"policy_groups\[0\]\.swap", "not both"),
        ([{"name": "a", "swap": {"enabled": True}}], r"policy_groups\[0\]\.swap\.enabled", "only false"),
        ([{"name": "a", "swap": {"tiers": []}}], r"policy_groups\[0\]\.swap\.tiers", "non-empty"),
        ([{"name": "a", "swap": {"tiers": ["f", "f"]}}], r"policy_groups\[0\]\.swap\.tiers\[1\]", "twice"),
        ([{"name": "a", "numa": {"mode": "bind"}}], r"policy_groups\[0\]\.numa\.nodes", "node list"),
        ([{"name": "a"}, {"name": "b", "mem_priority": "lowest"}], r"policy_groups\[1\]\.mem_priority",
         "'lowest' is not one of low, normal, high"),
        ([{"name": "a", "mem_priority": "inherit"}], r"policy_groups\[0\]\.mem_priority", "not one of"),
        ([{"name": "a", "mem_priority": 2}], r"policy_groups\[0\]\.mem_priority", "not one of"),
        ([{"name": "a", "numa": {"mode": "local", "nodes": "0"}}], r"policy_groups\[0\]\.numa\.nodes", "no nodes"),
        ([{"name": "a", "numa": {"mode": "bind", "nodes": "3-1"}}], r"policy_groups\[0\]\.numa\.nodes", "descending"),
        ([{"name": "a", "members": {"cgroups": ["/a//b"]}}], r"members\.cgroups\[0\]", "normalised"),
        ([{"name": "a", "members": {"cgroups": ["/a/../b"]}}], r"members\.cgroups\[0\]", "'\\.\\.' component"),
        ([{"name": "a", "members": {"cgroups": ["a/b"]}}], r"members\.cgroups\[0\]", "must be absolute"),
        ([{"name": "a", "members": {"cgroups": ["/a/"]}}], r"members\.cgroups\[0\]", "trailing '/'"),
        ([{"name": "a", "members": {"pids": [0]}}], r"members\.pids\[0\]", "process ID"),
        ([{"name": "a", "members": {"systemd_units": ["../x"]}}], r"members\.systemd_units\[0\]", "unit name"),
        ([{"name": "a", "colour": "red"}], r"policy_groups\[0\]", "unknown key"),
    ],
)
def test_semantic_errors_name_the_place(groups: list, where: str, what: str) -> None:
    with pytest.raises(ModelError, match=f"{where}.*{what}"):
        normalize({"policy_groups": groups})


@pytest.mark.parametrize(
    ("tiers", "what"),
    [
        ([{"name": "fast", "start_priority": 100}], "start at -1"),
        ([{"name": "a", "start_priority": -1}, {"name": "a", "start_priority": 5}], "twice"),
        ([{"name": "a", "start_priority": -1}, {"name": "b", "start_priority": -1}], "used by another"),
        ([{"name": "a" * 16, "start_priority": -1}], "not a tier name"),
        ([{"name": "a", "start_priority": -2}], "-1..32767"),
        ([{"name": "a", "start_priority": 32768}], "-1..32767"),
    ],
)
def test_tier_errors(tiers: list, what: str) -> None:
    with pytest.raises(ModelError, match=what):
        normalize({"policy_swap_tiers": tiers, "policy_groups": []})


@pytest.mark.parametrize("word", ["none", "inherit", "default"])
def test_reserved_words_are_no_tier_names_without_the_schema(word: str) -> None:
    # the modules and the boot-time restore reach normalize() without the fleet schema: a group's tiers [none] would
    # be written as policy.swap.tiers "none" (no swap at all), [inherit] as inherit; a tier named so the kernel refuses
    with pytest.raises(ModelError, match=r"policy_groups\[0\]\.swap\.tiers\[1\].*reserved word"):
        normalize({"policy_groups": [{"name": "a", "swap": {"tiers": ["slow", word]}}]})
    with pytest.raises(ModelError, match=r"policy_swap_tiers\[0\]\.name.*reserved word"):
        normalize({"policy_swap_tiers": [{"name": word, "start_priority": -1}], "policy_groups": []})


def test_group_naming_undefined_tier() -> None:
    with pytest.raises(ModelError, match="swap tier 'nvme'"):
        normalize({"policy_swap_tiers": [{"name": "slow", "start_priority": -1}],
                   "policy_groups": [{"name": "a", "swap": {"tiers": ["nvme"]}}]})


NODELISTS = [("0", (0,), "0"), ("0-2,4", (0, 1, 2, 4), "0-2,4"), ("3,1,2", (1, 2, 3), "1-3"), ("0,2", (0, 2), "0,2")]


@pytest.mark.parametrize(("text", "nodes", "canonical"), NODELISTS)
def test_nodelists(text: str, nodes: tuple, canonical: str) -> None:
    assert parse_nodelist(text) == nodes
    assert render_nodelist(nodes) == canonical


@pytest.mark.parametrize("fields", [
    {},
    {"thp": "never", "ksm": False, "oom_score_adj": -1000, "swap": {"tiers": ["fast", "slow"]}},
    {"ksm": True, "oom_score_adj": 0, "swap": {"enabled": False}, "zswap_writeback": False},
    {"zswap_writeback": True, "numa": {"mode": "interleave", "nodes": "0-1"}, "mem_priority": "low"},
    {"numa": {"mode": "local"}, "mem_priority": "high", "thp": "always", "oom_score_adj": 1000},
])
def test_document_policies_gives_back_the_fields_as_written(fields: dict) -> None:
    # The typed view the modules return (groups[].settings) is the fleet document's own form: fed back, it
    # is the same group.
    doc = {"policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
           "policy_groups": [{"name": "g", **fields}]}
    [group] = normalize(doc).groups
    assert document_policies(group.policies) == fields
    again = normalize({**doc, "policy_groups": [{"name": "g", **document_policies(group.policies)}]})
    assert again.groups[0].policies == group.policies


def test_document_policies_keeps_what_it_does_not_know_as_the_kernel_wrote_it() -> None:
    assert document_policies({"thp": "inherit", "ksm": "2", "oom_score_adj": "x", "swap_tiers": "a,b"}) == {
        "ksm": "2", "oom_score_adj": "x", "swap": {"tiers": ["a", "b"]}}


def test_document_policies_keeps_the_kernels_default_tiers_under_the_kernels_key() -> None:
    # "default" names every tier explicitly (a kernel's own value): not inherit, and no tier list either
    assert document_policies({"swap_tiers": "default", "numa": "default"}) == {
        "swap_tiers": "default", "numa": {"mode": "default"}}
