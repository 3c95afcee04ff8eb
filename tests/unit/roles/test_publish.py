"""The converge action publishes the role's variables itself (``publish``, where ansible-core lets an action set
host variables) with the values the role's set_fact of the same names would give them, which the role keeps for
older ansible-core: the action's ``published`` against that task's arguments as Ansible evaluates them, for a
converge that ran every step, one that only probed, and a host with and without facts from an earlier run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleValueOmittedError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.policygroups.core.plugins.action.policy_groups_converge import ActionModule, published

TASKS = Path(__file__).resolve().parents[3] / "roles" / "policy_groups" / "tasks" / "after_converge.yml"
INFO = {"backend": "policyfs", "available": True, "groups": {"latency": {"policies": {"thp": "never"}}}}
RENDERED = {"facts": "present", "policy_groups": [{"name": "latency"}], "unsupported": [], "warnings": []}
FULL = {"changed": False, "policy_groups_info": INFO, "rendered": RENDERED, "check_mode": False,
        "tiers_result": {"changes": []}, "groups_result": {"changes": [], "restart_required": ["a.service"]},
        "persist_result": {"files": []}, "ansible_facts": {"policy_groups_facts": {"backend": "policyfs"}}}
PROBED = {"changed": False, "policy_groups_info": INFO, "rendered": RENDERED}


def set_fact(result: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
    """What the role's set_fact sets after a converge task that returned ``result``."""
    task = next(t for t in yaml.safe_load(TASKS.read_text()) if t["name"].startswith("Publish"))
    facts = {**task_vars.get("ansible_facts", {}), **result.get("ansible_facts", {})}
    templar = Templar(loader=DataLoader(), variables={**task_vars, "ansible_facts": facts,
                                                      "__policy_groups_converge": result})
    out: dict[str, Any] = {}
    for name, value in task["ansible.builtin.set_fact"].items():
        if isinstance(value, str):
            trusted: Any = trust_as_template(value)
        else:
            trusted = {key: trust_as_template(item) for key, item in value.items()}
        try:
            out[name] = templar.template(trusted)
        except AnsibleValueOmittedError:
            continue
    return out


@pytest.mark.parametrize("result", [FULL, PROBED, {**PROBED, "check_mode": True}], ids=["full", "probed", "check"])
@pytest.mark.parametrize("cached", [{}, {"ansible_facts": {"policy_groups_facts": {"backend": "systemd"}}}],
                         ids=["no-facts", "cached-facts"])
def test_published_is_what_the_set_fact_sets(result: dict[str, Any], cached: dict[str, Any]) -> None:
    task_vars = {"ansible_check_mode": False, **cached}
    assert published(result, task_vars) == set_fact(result, task_vars)


def test_without_the_api_nothing_is_published_and_the_set_fact_does_it() -> None:
    class Older:  # an ansible-core before 2.21: no register_host_variables
        pass

    assert ActionModule._publish(Older(), {"policy_groups_rendered": {}}) is False  # type: ignore[arg-type]
    registered: list[tuple[dict[str, Any], Any]] = []

    class Newer:
        def register_host_variables(self, variables: dict[str, Any], layer: Any) -> None:
            registered.append((variables, layer))

    assert ActionModule._publish(Newer(), {"policy_groups_rendered": {}}) is True  # type: ignore[arg-type]
    assert registered[0][0] == {"policy_groups_rendered": {}} and registered[0][1].name == "EPHEMERAL_FACT"
