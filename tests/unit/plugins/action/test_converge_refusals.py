"""The converge action's refusals of a host's variables, decided on the controller before anything is read or
written: look-alike names (with check_vars), purge on an absent document (always), swap devices on a host tree
(with swap_devices)."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.policygroups.core.plugins.action.policy_groups_converge import refusals

SETTINGS = ["policy_groups_purge", "policy_groups_ignore_vars", "policy_groups_swap_devices"]


def args(**given: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"policy_groups": [], "purge": False, "host_root": "/", "swap_devices": False,
                            "check_vars": {"settings": SETTINGS, "ignore": []}, "apply": True, "persist": True}
    return {**base, **given}


def test_nothing_to_refuse() -> None:
    assert refusals(args(), ["policy_groups", "policy_groups_purge", "inventory_hostname", "policy_groups__web"]) == []


def test_lookalikes_are_named_each() -> None:
    found = refusals(args(), ["policy_group", "policy_swap_tier", "policy_groups_purgee", "inventory_hostname"])
    assert found[0].startswith("variables that look like policygroups.core variables but are not")
    assert found[1:] == ["policy_group: did you mean policy_groups?", "policy_groups_purgee: did you mean "
                         "policy_groups_purge?", "policy_swap_tier: did you mean policy_swap_tiers?"]


def test_ignored_names_and_no_check_vars_pass() -> None:
    assert refusals(args(check_vars={"settings": SETTINGS, "ignore": ["policy_group"]}),
                    ["policy_group"]) == []
    assert refusals(args(check_vars=None), ["policy_group"]) == []


@pytest.mark.parametrize("check_vars", [True, False])
def test_purge_on_an_absent_document_is_refused_with_or_without_check_vars(check_vars: bool) -> None:
    given = args(policy_groups=None, purge=True, **({} if check_vars else {"check_vars": None}))
    assert [r for r in refusals(given, []) if r.startswith("policy_groups is not defined for this host")]
    assert refusals(args(policy_groups=None, purge=False), []) == []  # absent without purge: no groups
    assert refusals(args(policy_groups=[], purge=True), []) == []  # empty: no groups, purged on purpose


@pytest.mark.parametrize(("apply", "persist", "refused"), [(True, False, True), (False, True, True), (False, False, False)])
def test_purge_on_an_absent_document_is_refused_only_where_it_would_act(apply: bool, persist: bool,
                                                                        refused: bool) -> None:
    # applying removes every group, persisting makes the next boot's restore remove them; a run that only probes and
    # renders (tasks_from: probe.yml) removes nothing, and its rendering says what the document means
    given = args(policy_groups=None, purge=True, apply=apply, persist=persist)
    assert bool(refusals(given, [])) is refused


@pytest.mark.parametrize("host_root, refused", [("/", False), ("", False), ("/srv/host", True)])
def test_swap_devices_only_on_the_live_host(host_root: str, refused: bool) -> None:
    given = args(host_root=host_root, swap_devices=True)
    assert bool(refusals(given, [])) is refused
    assert bool(refusals({**given, "check_vars": None}, [])) is refused  # whether or not look-alikes are checked
    assert refusals(args(host_root=host_root), []) == []  # no swap devices: any host root


def test_refusals_name_the_option_and_the_roles_variable() -> None:
    # the action is a module of its own too (policygroups.core.policy_groups_converge): its refusals name its
    # options, and the policy_groups role's variables beside them
    purge = refusals(args(policy_groups=None, purge=True, check_vars=None), [])
    assert purge and "purge is true (the policy_groups role's policy_groups_purge)" in purge[0], purge
    swap = refusals(args(host_root="/srv/host", swap_devices=True, check_vars=None), [])
    assert swap and "swap_devices (the policy_groups role's policy_groups_swap_devices)" in swap[0], swap
    assert "host_root (policy_groups_host_root) /srv/host" in swap[0], swap
