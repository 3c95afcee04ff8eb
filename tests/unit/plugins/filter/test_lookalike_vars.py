"""policygroups.core.lookalike_vars: misspelt inventory variables are found, the collection's own names are not."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.policygroups.core.plugins.filter.lookalike_vars import lookalike_vars

ROLE = Path(__file__).resolve().parents[4] / "roles" / "policy_groups"
SETTINGS = ["policy_groups_purge", "policy_groups_tiers_purge", "policy_groups_backend"]


def test_misspelt_document_variables_and_layers() -> None:
    names = ["policy_group", "policy_swap_tier", "polcy_groups", "policy_group__web", "policy_grups__db",
             "policy_groups_purgee", "policy_tiers"]
    assert [{k: v for k, v in f.items() if k != "message"} for f in lookalike_vars(names, SETTINGS)] == [
        {"name": "polcy_groups", "like": "policy_groups"},
        {"name": "policy_group", "like": "policy_groups"},
        {"name": "policy_group__web", "like": "policy_groups__web"},
        {"name": "policy_groups_purgee", "like": "policy_groups_purge"},
        {"name": "policy_grups__db", "like": "policy_groups__db"},
        {"name": "policy_swap_tier", "like": "policy_swap_tiers"},
        {"name": "policy_tiers", "like": "policy_swap_tiers"},
    ]


def test_the_collections_own_names_and_unrelated_ones_pass() -> None:
    names = ["policy_groups", "policy_swap_tiers", "policy_groups__web", "policy_groups_purge",
             "policy_groups_rendered", "policy_groups_waves", "policy_kernel_reboot_ok", "inventory_hostname",
             "ansible_host", "group_names", "policy_owner", "groups", "app__port"]
    assert [{k: v for k, v in f.items() if k != "message"} for f in lookalike_vars(names, SETTINGS)] == []


def test_ignore_leaves_a_name_alone() -> None:
    assert lookalike_vars(["policy_group"], SETTINGS, ignore=["policy_group"]) == []


def test_role_passes_every_setting_it_documents() -> None:
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    settings = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())["__policy_groups_settings"]
    assert set(settings) == {name for name in spec if name.startswith("policy_groups_")}


def test_message_names_both() -> None:
    assert lookalike_vars(["policy_group"])[0]["message"] == "policy_group: did you mean policy_groups?"


def test_selections_and_their_misspellings() -> None:
    names = ["policy_groups_select__web", "policy_group_select__db", "policy_groups_selct__batch",
             "policy_groups_select_web", "policy_group_select_db", "policy_groups_select", "policy_groups__select__x"]
    assert [{k: v for k, v in f.items() if k != "message"} for f in lookalike_vars(names, SETTINGS)] == [
        {"name": "policy_group_select__db", "like": "policy_groups_select__db"},
        {"name": "policy_group_select_db", "like": "policy_groups_select__db"},
        {"name": "policy_groups__select__x", "like": "policy_groups_select__x"},
        {"name": "policy_groups_selct__batch", "like": "policy_groups_select__batch"},
        {"name": "policy_groups_select", "like": "policy_groups_select__<name>"},
        {"name": "policy_groups_select_web", "like": "policy_groups_select__web"},
    ]
