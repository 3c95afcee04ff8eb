"""policygroups.core.render: layering, parents, kernel values, and what a host cannot honour."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ansible_collections.policygroups.core.plugins.filter import render as mod
from ansible_collections.policygroups.core.plugins.filter.render import RenderError, render

ALL_FEATURES = ["thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "numa", "mem_priority", "bind"]


def doc() -> dict[str, Any]:
    return {
        "policy_swap_tiers": [{"name": "slow", "start_priority": -1}, {"name": "fast", "start_priority": 100}],
        "policy_groups": [
            {"name": "batch", "parent": "background", "swap": {"tiers": ["slow"]}, "ksm": True,
             "members": {"systemd_units": ["report.service"]}},
            {"name": "latency", "description": "user-facing", "swap": {"tiers": ["slow", "fast"]}, "thp": "never",
             "oom_score_adj": -500, "numa": {"mode": "bind", "nodes": "0"},
             "members": {"cgroups": ["/system.slice/api.service"]}},
            {"name": "background", "thp": "madvise", "zswap_writeback": False, "swap": {"enabled": False}},
        ],
    }


def facts(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "backend": "policyfs", "available": True, "reason": None, "abi_version": 1, "features": ALL_FEATURES,
        "kernel_release": "6.12.0-policy", "swap_tiers": [],
        "swap_devices": [
            {"path": "/dev/zram0", "type": "partition", "priority": 150, "size_kb": 1, "used_kb": 0, "tier": None},
            {"path": "/swapfile", "type": "file", "priority": 0, "size_kb": 1, "used_kb": 0, "tier": None},
        ],
        "numa_nodes": [0], "groups": {},
    }
    base.update(over)
    return base


def test_parents_resolved_into_paths_parents_first() -> None:
    out = render(doc(), facts(), host="web1")
    assert [g["name"] for g in out["policy_groups"]] == ["background", "batch", "latency"]
    assert list(out["groups"]) == ["background", "background/batch", "latency"]
    assert out["host"] == "web1" and out["facts"] == "present"
    assert out["unsupported"] == [] and out["warnings"] == []


def test_kernel_values_defaults_and_effective_inheritance() -> None:
    out = render(doc(), facts())
    batch = out["groups"]["background/batch"]
    assert batch["policies"] == {"thp": "inherit", "ksm": "1", "oom_score_adj": "inherit", "swap_tiers": "slow",
                                 "zswap_writeback": "inherit", "numa": "inherit", "mem_priority": "inherit"}
    assert batch["effective"] == {"thp": "madvise", "ksm": "1", "oom_score_adj": "default", "swap_tiers": "slow",
                                  "zswap_writeback": "0", "numa": "default", "mem_priority": "default"}
    latency = out["groups"]["latency"]["policies"]
    assert latency["swap_tiers"] == "fast slow"  # highest tier first, as the kernel prints it
    assert latency["oom_score_adj"] == "-500" and latency["numa"] == "bind:0"
    assert out["groups"]["background"]["policies"]["swap_tiers"] == "none"


def test_defaults_filled_in_module_items() -> None:
    item = render(doc(), None)["policy_groups"][1]
    assert item == {"name": "batch", "parent": "background", "state": "present", "swap": {"tiers": ["slow"]},
                    "ksm": True, "members": {"cgroups": [], "systemd_units": ["report.service"], "pids": []}}


def test_tiers_sorted_highest_first() -> None:
    assert render(doc(), None)["policy_swap_tiers"] == [
        {"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]


def test_without_facts_renders_and_marks_missing() -> None:
    out = render(doc(), None)
    assert out["facts"] == "missing" and out["available"] is None
    assert out["unsupported"] == []
    assert any("without host facts" in w for w in out["warnings"])
    assert render(doc(), {})["facts"] == "missing"


def test_input_not_mutated() -> None:
    d = doc()
    before = copy.deepcopy(d)
    render(d, facts(features=["thp"]), on_unsupported="drop")
    assert d == before


def test_missing_feature_reported_and_kept_by_default() -> None:
    out = render(doc(), facts(features=["thp", "ksm", "oom_score_adj", "swap_tiers", "zswap_writeback", "bind"]))
    assert [(u["path"], u["key"], u["action"]) for u in out["unsupported"]] == [("latency", "numa", "kept")]
    assert "numa" in out["unsupported"][0]["reason"]
    latency = next(g for g in out["policy_groups"] if g["name"] == "latency")
    assert latency["numa"] == {"mode": "bind", "nodes": "0"}


def test_missing_feature_dropped_on_request() -> None:
    out = render(doc(), facts(features=["thp", "swap_tiers"]), on_unsupported="drop")
    keys = sorted((u["path"], u["key"]) for u in out["unsupported"])
    assert keys == [("background", "zswap_writeback"), ("background/batch", "ksm"), ("background/batch", "members"),
                    ("latency", "members"), ("latency", "numa"), ("latency", "oom_score_adj")]
    assert all(u["action"] == "dropped" for u in out["unsupported"])
    batch = out["groups"]["background/batch"]
    assert batch["policies"]["ksm"] == "inherit" and batch["members"]["systemd_units"] == []


def test_no_swap_tiers_on_kernel() -> None:
    feats = [f for f in ALL_FEATURES if f != "swap_tiers"]
    out = render(doc(), facts(features=feats))
    assert ("policy_swap_tiers" in [u["key"] for u in out["unsupported"]])
    assert sum(u["key"] == "swap" for u in out["unsupported"]) == 3


def test_tier_without_device_is_a_warning() -> None:
    out = render(doc(), facts(swap_devices=[{"path": "/dev/zram0", "priority": 150}]))
    assert out["unsupported"] == []
    assert out["warnings"] == ["background/batch: swap tiers slow have no active swap device on this host; "
                               "the group's pages will not be swapped out"]


def test_device_tier_uses_desired_ranges() -> None:
    tiers = doc()["policy_swap_tiers"]
    assert mod.device_tier(100, tiers) == "fast" and mod.device_tier(99, tiers) == "slow"
    assert mod.device_tier(-1, tiers) == "slow" and mod.device_tier(-2, tiers) == "slow"


def test_a_device_without_a_priority_counts_in_the_lowest_tier() -> None:
    # Debian's fstab swap line has no pri=: the device gets -2, which the kernel puts in the lowest tier
    out = render(doc(), facts(swap_devices=[{"path": "/dev/zram0", "priority": 150}, {"path": "/dev/vda5", "priority": -2}]))
    assert out["warnings"] == []


def test_numa_node_absent() -> None:
    d = doc()
    d["policy_groups"][1]["numa"] = {"mode": "interleave", "nodes": "0-2"}
    out = render(d, facts(numa_nodes=[0, 1]), on_unsupported="drop")
    [u] = out["unsupported"]
    assert u["key"] == "numa" and "node(s) 2 not present" in u["reason"]
    assert out["groups"]["latency"]["policies"]["numa"] == "inherit"


def test_host_without_policy_groups() -> None:
    out = render(doc(), facts(available=False, reason="no 'policy' cgroup controller", features=[]))
    assert [u["key"] for u in out["unsupported"]] == ["backend"]
    assert out["available"] is False and "controller" in out["unsupported"][0]["reason"]


def test_unknown_abi_version() -> None:
    out = render(doc(), facts(abi_version=7))
    assert out["unsupported"][0]["reason"] == "unsupported policy ABI version 7"


def test_pids_warned_not_persistent() -> None:
    d = doc()
    d["policy_groups"][1]["members"]["pids"] = [42]
    assert any("pids 42" in w for w in render(d, facts())["warnings"])


def test_layers_override_add_and_merge_members() -> None:
    layers = [
        [{"name": "latency", "oom_score_adj": -900, "members": {"systemd_units": ["db.service"]}}],
        None,
        [{"name": "extra", "thp": "always"}, {"name": "batch", "state": "absent"}],
    ]
    out = render(doc(), None, layers=layers)
    latency = out["groups"]["latency"]
    assert latency["policies"]["oom_score_adj"] == "-900"
    assert latency["members"]["cgroups"] == ["/system.slice/api.service"]
    assert latency["members"]["systemd_units"] == ["db.service"]
    assert out["groups"]["extra"]["policies"]["thp"] == "always"
    assert out["groups"]["background/batch"]["state"] == "absent"


STRUCTURAL = [
    ([{"name": "a"}, {"name": "a"}], "duplicate group name 'a'", "policy_groups[1]"),
    ([{"name": "a", "parent": "nope"}], "names 'nope', which is not a group", "policy_groups[0]"),
    ([{"name": "a", "parent": "b"}, {"name": "b", "parent": "a"}], "cycle", "policy_groups[0]"),
    ([{"name": "a", "parent": "b"}, {"name": "b", "state": "absent"}], "parent 'b' has state: absent", "policy_groups[0]"),
    ([{"name": "a", "parent": ["b"]}], "expected a group name, got ['b']", "policy_groups[0]"),
]


@pytest.mark.parametrize(("groups", "message", "where"), STRUCTURAL)
def test_structural_errors_once_each_at_their_group(groups: list[dict[str, Any]], message: str, where: str) -> None:
    """With the full validator the schema's rules report these (once: the render's own structural checks, which
    say the same, are not added on top); the path points at the group."""
    with pytest.raises(RenderError) as exc:
        render({"policy_groups": groups}, None)
    assert exc.value.errors[0].startswith(where), exc.value.errors
    assert not any("unknown group" in e or ": cycle " in e for e in exc.value.errors), exc.value.errors


@pytest.mark.parametrize(("groups", "message", "where"), STRUCTURAL)
def test_structural_errors_without_the_full_validator(monkeypatch: pytest.MonkeyPatch, groups: list[dict[str, Any]],
                                                      message: str, where: str) -> None:
    monkeypatch.setattr(mod, "validate_fleet", None)
    with pytest.raises(RenderError) as exc:
        render({"policy_groups": groups}, None)
    assert any(e.startswith(where) and message in e for e in exc.value.errors), exc.value.errors


def test_a_parent_chain_of_any_depth_in_any_order_renders() -> None:
    """Child first, 3,000 deep: no recursion limit on the way (the path-length limit is the schema's business)."""
    groups = [{"name": f"g{i}", "parent": f"g{i + 1}"} for i in range(3000)] + [{"name": "g3000"}]
    paths, order, errors = mod._structure(groups)
    assert errors == [] and order[0] == "g3000" and paths["g0"].count("/") == 3000


def test_all_errors_listed_with_paths() -> None:
    with pytest.raises(RenderError) as exc:
        render({"policy_groups": [{"name": "a", "parent": "x"}, {"name": "a"}]}, None)
    text = str(exc.value)
    assert "policy_groups[1].name: duplicate group name 'a'" in text and "policy_groups[0] (a).parent: names 'x'" in text
    assert len(exc.value.errors) == 2, exc.value.errors  # each once, not again by the render's own checks


def test_bad_layer_shape() -> None:
    with pytest.raises(RenderError, match="layers\\[0\\]"):
        render(doc(), None, layers=["oops"])
    with pytest.raises(RenderError, match="name"):
        render(doc(), None, layers=[[{"thp": "never"}]])


def test_bad_on_unsupported() -> None:
    with pytest.raises(Exception, match="on_unsupported"):
        render(doc(), None, on_unsupported="ignore")


def test_numa_nodes_in_kernel_form() -> None:
    d = doc()
    d["policy_groups"][1]["numa"] = {"mode": "interleave", "nodes": "3,0,1,2"}
    assert render(d, None)["groups"]["latency"]["policies"]["numa"] == "interleave:0-3"
    assert mod.render_nodelist([5, 0, 1, 2, 7]) == "0-2,5,7" and mod.render_nodelist([]) == ""


def test_nodelist_parser() -> None:
    assert mod.parse_nodelist("0-2,5") == [0, 1, 2, 5]
    for bad in ("", "a", "2-1", "1,"):
        with pytest.raises(ValueError):
            mod.parse_nodelist(bad)


def test_filter_registered() -> None:
    assert mod.FilterModule().filters()["render"] is render


def test_unmanaged_tiers_checked_against_the_hosts_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fleet validator requires referenced tiers to be defined; the renderer itself copes without them.
    monkeypatch.setattr(mod, "validate_fleet", None)
    d = doc()
    del d["policy_swap_tiers"]
    host_tiers = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
    out = render(d, facts(swap_tiers=host_tiers))
    assert out["policy_swap_tiers"] is None and out["unsupported"] == []
    assert out["groups"]["latency"]["policies"]["swap_tiers"] == "fast slow"
    out = render(d, facts(swap_tiers=[{"name": "slow", "start_priority": -1}]))
    assert [u["message"] for u in out["unsupported"]] == ["latency.swap: tier(s) fast not defined on this host"]


def test_tiers_dropped_become_unmanaged() -> None:
    feats = [f for f in ALL_FEATURES if f != "swap_tiers"]
    out = render(doc(), facts(features=feats), on_unsupported="drop")
    assert out["policy_swap_tiers"] is None
    assert all("swap" not in g for g in out["policy_groups"])


def test_persist_keeps_present_groups_without_pids() -> None:
    d = doc()
    d["policy_groups"][1]["members"]["pids"] = [42]
    d["policy_groups"].append({"name": "old", "state": "absent"})
    out = render(d, facts())
    persisted = out["persist"]["policy_groups"]
    assert [g["name"] for g in persisted] == ["background", "batch", "latency"]
    assert persisted[2]["members"]["pids"] == [] and out["policy_groups"][2]["members"]["pids"] == [42]
    assert out["persist"]["policy_swap_tiers"] == out["policy_swap_tiers"]


def test_fleet_validator_errors_listed() -> None:
    if mod.validate_fleet is None:
        pytest.skip("fleet validator not importable")
    d = doc()
    d["policy_groups"][0]["thp"] = "sometimes"
    d["policy_groups"][2]["oom_score_adj"] = 5000
    with pytest.raises(RenderError) as exc:
        render(d, None)
    paths = [e.split(":")[0] for e in exc.value.errors]
    assert "policy_groups[0] (batch).thp" in paths and "policy_groups[2] (background).oom_score_adj" in paths


def test_inputs_copied_to_plain_python_first() -> None:
    class Lazy(dict):  # stands in for Ansible's lazily templated containers
        reads = 0

        def __getitem__(self, key: Any) -> Any:
            Lazy.reads += 1
            return super().__getitem__(key)

    class Text(str):
        pass

    out = mod.plain(Lazy(a=[Lazy(b=Text("x"))], n=(1, 2.5, True, None)))
    assert out == {"a": [{"b": "x"}], "n": [1, 2.5, True, None]}
    # exact types, not subclasses: the lazy containers and str subclasses must be gone
    assert out.__class__ is dict
    assert out["a"][0].__class__ is dict
    assert out["a"][0]["b"].__class__ is str


def test_tiers_that_are_not_a_list_are_reported_as_such() -> None:
    # The validator sees the document's parts as given (the validate action's view), not coerced to lists.
    if mod.validate_fleet is None:
        pytest.skip("fleet validator not importable")
    d = doc()
    d["policy_swap_tiers"] = "fast"
    with pytest.raises(RenderError) as exc:
        render(d, None)
    assert "policy_swap_tiers: expected a list, got a string 'fast'" in exc.value.errors


# --------------------------------------------------------------------------------------------------------------
# A host on the systemd backend: its own capabilities (unit properties), not the reference kernel's features


def systemd_facts(**over: Any) -> dict[str, Any]:
    """policy_groups_info of a Debian 13 host: systemd 257 without MemoryTHP=, a kernel without zswap writeback."""
    base: dict[str, Any] = {
        "backend": "systemd", "available": True, "reason": None, "abi_version": None,
        "features": ["ksm", "oom_score_adj", "swap_tiers", "numa", "systemd_units"],
        "kernel_release": "6.12.48+deb13-cloud-amd64", "tiers_supported": False, "swap_tiers": [],
        "swap_devices": [], "numa_nodes": [0], "groups": {}, "systemd_version": "systemd 257 (257.9-1~deb13u1)",
        "unsupported": {
            "thp": "systemd 257 (257.9-1~deb13u1) has no MemoryTHP= unit property (asked with systemctl show)",
            "zswap_writeback": "kernel 6.12.48+deb13-cloud-amd64 has no memory.zswap.writeback",
            "members.cgroups": "cgroup paths cannot be members", "members.pids": "processes cannot be members",
            "swap_tiers.tiers": "swap tier selection does not exist in mainline kernels",
        },
    }
    base.update(over)
    return base


def team_doc() -> dict[str, Any]:
    return {"policy_groups": [
        {"name": "web", "oom_score_adj": -500, "members": {"systemd_units": ["nginx.service"]}},
        {"name": "postgres", "oom_score_adj": -800, "swap": {"enabled": False},
         "members": {"systemd_units": ["postgresql@16-main.service"]}},
        {"name": "batch", "ksm": True, "thp": "never", "members": {"systemd_units": ["backup.service"]}},
    ]}


def test_systemd_host_supports_oom_score_and_units_through_unit_properties() -> None:
    out = render(team_doc(), systemd_facts(), host="db1")
    messages = [u["message"] for u in out["unsupported"]]
    assert messages == ["batch.thp: systemd 257 (257.9-1~deb13u1) has no MemoryTHP= unit property (asked with "
                        "systemctl show)"]
    assert not any("kernel does not enforce" in m or "cannot bind" in m for m in messages)
    assert out["warnings"] == [
        "web: oom_score_adj take effect when nginx.service next start(s) (unit properties set at process start; "
        "the module's restart_units: true restarts active units)",
        "postgres: oom_score_adj take effect when postgresql@16-main.service next start(s) (unit properties set at "
        "process start; the module's restart_units: true restarts active units)",
        "batch: ksm take effect when backup.service next start(s) (unit properties set at process start; the "
        "module's restart_units: true restarts active units)",
    ]


def test_systemd_host_reports_what_mainline_cannot_express() -> None:
    d = team_doc()
    d["policy_swap_tiers"] = [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}]
    d["policy_groups"][2].update(swap={"tiers": ["slow"]}, zswap_writeback=False)
    d["policy_groups"][2]["members"]["cgroups"] = ["/system.slice/cron.service"]
    d["policy_groups"][0]["members"]["pids"] = [1234]
    out = render(d, systemd_facts(), host="db1", on_unsupported="drop")
    found = {(u["group"], u["key"]): u["action"] for u in out["unsupported"]}
    assert found == {(None, "policy_swap_tiers"): "dropped", ("web", "members.pids"): "dropped",
                     ("batch", "members.cgroups"): "dropped", ("batch", "swap"): "dropped",
                     ("batch", "thp"): "dropped", ("batch", "zswap_writeback"): "dropped"}
    batch = out["policy_groups"][2]
    assert "swap" not in batch and "thp" not in batch and "zswap_writeback" not in batch
    assert batch["members"] == {"cgroups": [], "systemd_units": ["backup.service"], "pids": []}
    assert out["policy_swap_tiers"] is None
    assert out["policy_groups"][1]["swap"] == {"enabled": False}  # MemorySwapMax=0 maps


def test_systemd_host_without_unsupported_reasons_uses_its_features() -> None:
    facts = systemd_facts(features=["oom_score_adj", "systemd_units"])
    del facts["unsupported"]
    out = render(team_doc(), facts, host="db1")
    assert {(u["group"], u["key"]) for u in out["unsupported"]} == {
        ("batch", "ksm"), ("batch", "thp"), ("postgres", "swap")}  # swap: {enabled: false} needs MemorySwapMax=


def test_layer_item_with_a_misspelled_group_name_is_reported() -> None:
    """A layer that removes 'postgress' removes nothing the document defines: the reviewer is told, with the name
    that was probably meant; a new group whose name is close to a known one is reported too."""
    layers = [[{"name": "latencyy", "oom_score_adj": 5}], [{"name": "backgruond", "state": "absent"},
                                                           {"name": "legacy", "state": "absent"}]]
    out = render(doc(), None, layers=layers, host="web1")
    assert [w for w in out["warnings"] if w.startswith("layers")] == [
        "layers[0][0]: 'latencyy' names no group of the fleet document and adds a new group; did you mean "
        "'latency'?",
        "layers[1][0]: 'backgruond' (state: absent) names no group of the fleet document, so it removes only a "
        "group of that name left on a host; did you mean 'background'?",
        "layers[1][1]: 'legacy' (state: absent) names no group of the fleet document, so it removes only a group "
        "of that name left on a host",
    ]
    assert not any(w.startswith("layers") for w in render(doc(), None, host="web1")["warnings"])


def test_errors_name_the_layer_item_that_set_the_value() -> None:
    """Layers given by variable name: an error in the merged document points at the layer item that wrote the value,
    not at an index into a document nobody wrote; values the fleet document holds keep its path."""
    base = doc()
    base["policy_groups"][0]["thp"] = "sometimes"
    layers = {"policy_groups__50_host": [{"name": "latency", "members": {"systemd_units": ["no such"]}}],
              "policy_groups__20_db": [{"name": "latency", "oom_score_adj": -5000},
                                       {"name": "postgres", "swap": {"tiers": ["nvme"]}}]}
    with pytest.raises(RenderError) as caught:
        render(base, None, layers=layers, host="db1")
    paths = sorted(e.split(": ")[0] for e in caught.value.errors)
    assert paths == ["policy_groups[0] (batch).thp", "policy_groups__20_db[0] (latency).oom_score_adj",
                     "policy_groups__20_db[1] (postgres).swap.tiers[0]",
                     "policy_groups__50_host[0] (latency).members.systemd_units[0]"], caught.value.errors


def test_layer_warnings_name_the_variable() -> None:
    out = render(doc(), None, layers={"policy_groups__20_db": [{"name": "backgruond", "state": "absent"}]})
    assert any(w.startswith("policy_groups__20_db[0]: 'backgruond' (state: absent)") for w in out["warnings"])


def test_select_keeps_the_named_groups_and_their_ancestors_and_removes_the_others() -> None:
    out = render(doc(), None, select={"policy_groups_select__web": ["latency"], "policy_groups_select__jobs": ["batch"]})
    assert {path: g["state"] for path, g in out["groups"].items()} == {
        "background": "present", "background/batch": "present", "latency": "present"}
    out = render(doc(), None, select={"policy_groups_select__jobs": ["batch"]})
    assert {path: g["state"] for path, g in out["groups"].items()} == {
        "background": "present", "background/batch": "present", "latency": "absent"}
    assert [g["name"] for g in out["persist"]["policy_groups"]] == ["background", "batch"]
    # no select variable: every group stays; a select variable that is empty (or null) selects nothing
    for select in (None, {}):
        out = render(doc(), None, select=select)
        assert {g["state"] for g in out["groups"].values()} == {"present"}, select
    for select in ({"policy_groups_select__web": None}, {"policy_groups_select__web": []}):
        out = render(doc(), None, select=select)
        assert {g["state"] for g in out["groups"].values()} == {"absent"}, select


def test_select_errors_name_the_variable_and_the_group_meant() -> None:
    layers = {"policy_groups__20_db": [{"name": "background", "state": "absent"}]}
    select = {"policy_groups_select__web": ["latncy", 3], "policy_groups_select__x": "batch",
              "policy_groups_select__y": ["background"]}
    with pytest.raises(RenderError) as caught:
        render(doc(), None, layers=layers, select=select)
    assert caught.value.errors[:4] == [
        "policy_groups_select__web[0]: 'latncy' is no group of the fleet document; did you mean 'latency'?",
        "policy_groups_select__web[1]: must be a group name, got int",
        "policy_groups_select__x: must be a list of group names, got str",
        "policy_groups_select__y[0]: 'background' is selected but policy_groups__20_db[0] sets it state: absent",
    ]


def test_select_as_a_list_of_lists_is_labelled_by_position() -> None:
    with pytest.raises(RenderError) as caught:
        render(doc(), None, select=[["latency"], ["bacground"]])
    assert caught.value.errors == ["select[1][0]: 'bacground' is no group of the fleet document; did you mean "
                                   "'background'?"]
    with pytest.raises(RenderError, match="select: must be a mapping of variable names to lists or a list, got int"):
        render(doc(), None, select=3)


def test_select_with_an_absent_ancestor_names_the_selection() -> None:
    layers = {"policy_groups__20_db": [{"name": "background", "state": "absent"}]}
    with pytest.raises(RenderError) as caught:
        render(doc(), None, layers=layers, select={"policy_groups_select__jobs": ["batch"]})
    assert caught.value.errors[0] == ("policy_groups_select__jobs[0]: 'batch' is selected but its ancestor "
                                      "'background' is absent (policy_groups__20_db[0] sets it state: absent)")


def test_merged_documents_are_validated_with_the_kernels_number_of_tiers() -> None:
    six = {"policy_swap_tiers": [{"name": f"t{i}", "start_priority": i * 10 - 1 if i else -1} for i in range(6)],
           "policy_groups": [{"name": "a"}]}
    assert mod.merged_document(six, nr_swap_tiers=8)[1] == []
    assert [e.split(":")[0] for e in mod.merged_document(six)[1]] == ["policy_swap_tiers"]


# --------------------------------------------------------------------------------------------------------------
# mem_priority: the kernel value, the feature, what it covers, and mainline


def priority_doc() -> dict[str, Any]:
    """doc() with background reclaimed first (batch, below it, has a unit: bound through its cgroup) and latency
    last (a bound cgroup)."""
    d = doc()
    d["policy_groups"][2]["mem_priority"] = "low"
    d["policy_groups"][1]["mem_priority"] = "high"
    return d


def test_mem_priority_own_and_effective_values() -> None:
    out = render(priority_doc(), facts())
    assert out["unsupported"] == [] and out["warnings"] == []
    assert out["groups"]["background"]["policies"]["mem_priority"] == "low"
    assert out["groups"]["background/batch"]["policies"]["mem_priority"] == "inherit"
    assert out["groups"]["background/batch"]["effective"]["mem_priority"] == "low"
    assert out["groups"]["latency"]["effective"]["mem_priority"] == "high"
    assert next(g for g in out["policy_groups"] if g["name"] == "latency")["mem_priority"] == "high"
    assert out["persist"]["policy_groups"][0]["mem_priority"] == "low"
    assert render(doc(), facts())["groups"]["latency"]["effective"]["mem_priority"] == "default"


def test_mem_priority_on_a_kernel_without_the_feature() -> None:
    feats = [f for f in ALL_FEATURES if f != "mem_priority"]
    out = render(priority_doc(), facts(features=feats))
    assert sorted((u["path"], u["key"], u["value"], u["action"]) for u in out["unsupported"]) == [
        ("background", "mem_priority", "low", "kept"), ("latency", "mem_priority", "high", "kept")]
    assert "background.mem_priority: the kernel does not enforce 'mem_priority' (missing from policy.features)" in [
        u["message"] for u in out["unsupported"]]
    dropped = render(priority_doc(), facts(features=feats), on_unsupported="drop")
    assert {u["action"] for u in dropped["unsupported"]} == {"dropped"}
    assert all("mem_priority" not in g for g in dropped["policy_groups"])
    assert dropped["groups"]["latency"]["policies"]["mem_priority"] == "inherit"
    assert dropped["warnings"] == []  # nothing left that could cover no memory


def test_mem_priority_bad_value_names_its_path() -> None:
    d = doc()
    d["policy_groups"][2]["mem_priority"] = "lowest"
    with pytest.raises(RenderError) as caught:
        render(d, facts())
    assert caught.value.errors == [
        "policy_groups[2] (background).mem_priority: expected one of: low, normal, high; got 'lowest'"]
    with pytest.raises(RenderError) as caught:
        render(doc(), None, layers={"policy_groups__20_db": [{"name": "latency", "mem_priority": "urgent"}]})
    assert caught.value.errors == [
        "policy_groups__20_db[0] (latency).mem_priority: expected one of: low, normal, high; got 'urgent'"]


COVERS_NOTHING = ("{}: mem_priority {} covers no memory: no cgroup is bound to the group or to a group below it that "
                  "inherits the value (members.cgroups, members.systemd_units), and processes joined by PID are not "
                  "covered")


@pytest.mark.parametrize(("groups", "warned"), [
    # members.pids only: nothing bound
    ([{"name": "a", "mem_priority": "low", "members": {"pids": [42]}}], [("a", "low")]),
    ([{"name": "a", "mem_priority": "high"}], [("a", "high")]),
    # a bound cgroup, or a unit (bound through its cgroup), covers memory
    ([{"name": "a", "mem_priority": "low", "members": {"cgroups": ["/system.slice/cron.service"]}}], []),
    ([{"name": "a", "mem_priority": "low", "members": {"systemd_units": ["cron.service"]}}], []),
    # a child that inherits the value and has a bound cgroup covers the parent's value
    ([{"name": "a", "mem_priority": "low"}, {"name": "b", "parent": "a", "members": {"cgroups": ["/b"]}}], []),
    # ... but not a child that sets its own, nor an absent one
    ([{"name": "a", "mem_priority": "low"},
      {"name": "b", "parent": "a", "mem_priority": "high", "members": {"cgroups": ["/b"]}}], [("a", "low")]),
    ([{"name": "a", "mem_priority": "low"},
      {"name": "b", "parent": "a", "state": "absent", "members": {"cgroups": ["/b"]}}], [("a", "low")]),
    # a child without bound members that sets its own value is warned about itself
    ([{"name": "a", "members": {"cgroups": ["/a"]}}, {"name": "b", "parent": "a", "mem_priority": "normal"}],
     [("a/b", "normal")]),
    # an absent group is not warned about
    ([{"name": "a", "mem_priority": "low", "state": "absent"}], []),
])
def test_mem_priority_that_covers_no_memory_is_a_warning(groups: list[dict[str, Any]],
                                                         warned: list[tuple[str, str]]) -> None:
    out = render({"policy_groups": groups}, facts())
    assert out["unsupported"] == []
    assert [w for w in out["warnings"] if "mem_priority" in w] == [COVERS_NOTHING.format(*w) for w in warned]


def test_mem_priority_warning_without_facts_too() -> None:
    out = render({"policy_groups": [{"name": "a", "mem_priority": "low"}]}, None)
    assert COVERS_NOTHING.format("a", "low") in out["warnings"]


def test_systemd_host_reports_mem_priority_unsupported_with_the_reason() -> None:
    d = team_doc()
    d["policy_groups"][2]["mem_priority"] = "low"
    never = ("no mainline equivalent: a mainline kernel cannot order reclaim across cgroups by class; MemoryLow= "
             "(memory.low) protects an amount of memory inside one subtree of the cgroup hierarchy, which is not the "
             "same, so nothing is set")
    facts_with_reason = systemd_facts()
    facts_with_reason["unsupported"]["mem_priority"] = never
    # the reason comes from policy_groups_info; facts of an older probe (no such key, or features only) say the same
    facts_features_only = systemd_facts()
    del facts_features_only["unsupported"]
    for host_facts in (facts_with_reason, systemd_facts(), facts_features_only):
        out = render(d, host_facts, host="db1")
        found = [u for u in out["unsupported"] if u["key"] == "mem_priority"]
        assert [(u["group"], u["path"], u["value"], u["reason"], u["action"]) for u in found] == [
            ("batch", "batch", "low", never, "kept")]
        assert not any("covers no memory" in w for w in out["warnings"])  # reported once, as unsupported
    out = render(d, facts_with_reason, host="db1", on_unsupported="drop")
    assert [(u["key"], u["action"]) for u in out["unsupported"] if u["group"] == "batch"] == [
        ("thp", "dropped"), ("mem_priority", "dropped")]
    assert "mem_priority" not in out["policy_groups"][2] and out["policy_groups"][2]["ksm"] is True
