"""The validate action plugin: arguments, result shape, check mode, and a real playbook run."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest

from ansible_collections.policygroups.core.plugins.action.validate import ActionModule
from ansible_collections.policygroups.core.plugins.module_utils._fleet._fleet_input import fleet_document, plain

from ..module_utils.fleet_examples import BRIEF_EXAMPLE

REPO_ROOT = Path(__file__).resolve().parents[4]


def run_action(args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    task = MagicMock()
    task.args = args
    task.async_val = 0
    task.check_mode = check_mode
    task.action = "policygroups.core.validate"
    connection = MagicMock()
    connection._shell.tmpdir = "/nonexistent"  # never used: the action makes no remote call
    action = ActionModule(task, connection, MagicMock(), MagicMock(), MagicMock(), None)
    result = action.run(task_vars={})
    assert connection.exec_command.call_count == 0
    return result


def brief_args() -> dict[str, Any]:
    d = copy.deepcopy(BRIEF_EXAMPLE)
    return {"policy_groups": d["policy_groups"], "policy_swap_tiers": d["policy_swap_tiers"]}


@pytest.mark.parametrize("check_mode", [False, True])
def test_valid_document(check_mode: bool) -> None:
    result = run_action(brief_args(), check_mode=check_mode)
    assert not result.get("failed")
    assert result["changed"] is False
    assert result["errors"] == []
    assert result["msg"] == "the fleet document is valid: 3 policy groups and 2 swap tiers"


def test_invalid_document_lists_every_error_on_its_own_line() -> None:
    args = brief_args()
    args["policy_groups"][0]["thp"] = "sometimes"
    args["policy_groups"][2]["parent"] = "ghost"
    args["policy_swap_tiers"][0]["name"] = "bad-name"
    result = run_action(args)
    assert result["failed"] is True
    assert result["changed"] is False
    assert [e["path"] for e in result["errors"]] == [
        "policy_groups[0] (latency).swap.tiers[0]", "policy_groups[0] (latency).thp", "policy_groups[2] (batch).parent",
        "policy_swap_tiers[0].name"]
    lines = result["msg"].splitlines()
    assert lines[0] == "the fleet document has 4 errors:"
    assert lines[1:] == ["%s: %s" % (e["path"], e["message"]) for e in result["errors"]]


def test_omitted_parts_are_absent_from_the_document() -> None:
    assert fleet_document({"policy_groups": None, "policy_swap_tiers": []}) == {"policy_swap_tiers": []}
    result = run_action({"policy_groups": [{"name": "x", "swap": {"tiers": ["fast"]}}]})
    assert result["errors"] == [{"path": "policy_groups[0] (x).swap.tiers[0]",
                                 "message": "tier 'fast' is not defined in policy_swap_tiers (defined: none)"}]


def test_nr_swap_tiers_option() -> None:
    args = {"policy_swap_tiers": [{"name": "t%d" % i, "start_priority": i - 1} for i in range(6)]}
    assert run_action(dict(args, nr_swap_tiers=8))["errors"] == []
    assert [e["path"] for e in run_action(args)["errors"]] == ["policy_swap_tiers"]
    result = run_action(dict(args, nr_swap_tiers=99))
    assert result["failed"] is True and "nr_swap_tiers must be an integer 1..30" in result["msg"]


def test_wrong_top_level_types_are_reported_by_the_schema() -> None:
    result = run_action({"policy_groups": "latency", "policy_swap_tiers": {"name": "fast"}})
    assert [e["path"] for e in result["errors"]] == ["policy_groups", "policy_swap_tiers"]


def test_unknown_option_is_rejected() -> None:
    from ansible.errors import AnsibleActionFail
    with pytest.raises(AnsibleActionFail, match="policy_group"):
        run_action({"policy_group": []})


def test_plain_converts_subclasses() -> None:
    class Tagged(str):
        pass

    value = plain({Tagged("k"): [Tagged("v"), (1, True)]})
    assert value == {"k": ["v", [1, True]]}
    assert all(v.__class__ is str for v in (next(iter(value)), value["k"][0]))


def _playbook_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(REPO_ROOT / ".cache" / "collections"),
        ANSIBLE_HOME=str(tmp_path / "home"),
        ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        ANSIBLE_HOST_KEY_CHECKING="0",
    )
    return env


def test_playbook_validates_once_without_connecting(tmp_path: Path) -> None:
    """Hosts whose connection can never work: validation still runs, once, fails listing all errors, and
    no host runs a later task: an invalid document changes nothing anywhere."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(textwrap.dedent("""\
        all:
          hosts:
            h1: {ansible_host: 192.0.2.1, ansible_connection: ssh, ansible_port: 1}
            h2: {ansible_host: 192.0.2.2, ansible_connection: ssh, ansible_port: 1}
          vars:
            policy_swap_tiers: [{name: fast, start_priority: 100}]
            policy_groups:
              - {name: latency, thp: sometimes}
              - {name: "..", parent: ghost}
        """))
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - name: Validate
          hosts: all
          gather_facts: false
          tasks:
            - name: Validate the fleet document
              policygroups.core.validate:
                policy_groups: "{{ policy_groups }}"
                policy_swap_tiers: "{{ policy_swap_tiers }}"
              run_once: true
            - name: A task that would change hosts
              ansible.builtin.debug:
                msg: "changing {{ inventory_hostname }}"
        """))
    bindir = Path(sys.executable).parent
    proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", str(inventory), str(playbook), "--check"],
                          capture_output=True, text=True, env=_playbook_env(tmp_path), timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "UNREACHABLE" not in out
    assert "the fleet document has 4 errors:" in out
    for line in ("policy_groups[0] (latency).thp: expected one of: inherit, never, madvise, always; got 'sometimes'",
                 "policy_groups[1].name: contains '..', which could escape the policy root",
                 "policy_groups[1].parent: names 'ghost', which is not a group in policy_groups",
                 "policy_swap_tiers: no tier starts at -1"):
        assert line in out, out
    assert out.count("fatal: [h") == 1, out
    assert "changing h" not in out, out


def test_documentation_matches_the_argument_spec() -> None:
    """The doc-only module describes exactly the options the action accepts, with the same types and defaults."""
    import yaml

    from ansible_collections.policygroups.core.plugins.action.validate import ARGUMENT_SPEC
    from ansible_collections.policygroups.core.plugins.modules import validate as doc_module

    options = yaml.safe_load(doc_module.DOCUMENTATION)["options"]
    assert set(options) == set(ARGUMENT_SPEC)
    for name, spec in ARGUMENT_SPEC.items():
        assert options[name]["type"] == spec["type"], name
        assert options[name].get("default") == spec.get("default"), name


def test_playbook_validates_every_hosts_own_document_naming_layers_and_hosts(tmp_path: Path) -> None:
    """With ``hosts``, each distinct document the hosts get (layers merged, selection made) is checked once, before
    any host changes: an error names the layer item or selection variable and the hosts that get it."""
    inventory = tmp_path / "inventory"
    (inventory / "group_vars").mkdir(parents=True)
    (inventory / "hosts.yml").write_text(textwrap.dedent("""\
        all:
          vars: {ansible_connection: ssh, ansible_host: 192.0.2.1, ansible_port: 1}
          children:
            db: {hosts: {db1: {}, db2: {}}}
            web: {hosts: {web1: {}}}
            batch: {hosts: {batch1: {}}}
        """))
    (inventory / "group_vars" / "all.yml").write_text(textwrap.dedent("""\
        policy_swap_tiers: [{name: fast, start_priority: 100}, {name: slow, start_priority: -1}]
        policy_groups:
          - {name: latency, thp: never}
          - {name: background, ksm: true}
          - {name: batch, parent: background}
        """))
    (inventory / "group_vars" / "db.yml").write_text(textwrap.dedent("""\
        policy_groups__20_db:
          - {name: latency, oom_score_adj: -5000}
          - {name: postgres, swap: {tiers: [nvme]}}
        """))
    (inventory / "group_vars" / "web.yml").write_text("policy_groups_select__web: [latncy]\n")
    (inventory / "group_vars" / "batch.yml").write_text("policy_groups_select__batch: [batch]\n")
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - name: Validate
          hosts: all
          gather_facts: false
          tasks:
            - name: Validate the fleet document and every host's own
              policygroups.core.validate:
                policy_groups: "{{ policy_groups }}"
                policy_swap_tiers: "{{ policy_swap_tiers }}"
                hosts: "{{ ansible_play_hosts_all | select('ne', skip | default('')) }}"
              run_once: true
            - name: A task that would change hosts
              ansible.builtin.debug:
                msg: "changing {{ inventory_hostname }}"
        """))
    bindir = Path(sys.executable).parent
    command = [str(bindir / "ansible-playbook"), "-i", str(inventory), str(playbook), "--check"]
    proc = subprocess.run(command, capture_output=True, text=True, env=_playbook_env(tmp_path), timeout=120,
                          check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "UNREACHABLE" not in out and "changing " not in out, out
    assert "the documents of the hosts have 3 errors:" in out, out
    for line in ("db1, db2: policy_groups__20_db[0] (latency).oom_score_adj: must be at least -1000; got -5000",
                 "db1, db2: policy_groups__20_db[1] (postgres).swap.tiers[0]: tier 'nvme' is not defined in "
                 "policy_swap_tiers (defined: fast, slow)",
                 "web1: policy_groups_select__web[0]: 'latncy' is no group of the fleet document; did you mean "
                 "'latency'?"):
        assert line in out, out

    # the same inventory without the hosts in error: valid, and the distinct documents are counted
    (inventory / "group_vars" / "db.yml").write_text("policy_groups__20_db: [{name: latency, oom_score_adj: -900}]\n")
    proc = subprocess.run(command + ["-e", "skip=web1", "-v"], capture_output=True, text=True,
                          env=_playbook_env(tmp_path), timeout=120, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "3 policy groups and 2 swap tiers; 3 hosts get 2 distinct documents, all valid" in out, out


def _validate_hosts_play(tmp_path: Path, inventory: Path, hosts: str) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run a play whose one task validates the document of ``hosts`` (YAML), connection local; (process, output)."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(textwrap.dedent("""\
        - name: Validate
          hosts: all
          gather_facts: false
          tasks:
            - name: Validate every host's document
              policygroups.core.validate:
                policy_groups: "{{ policy_groups }}"
                hosts: HOSTS
              run_once: true
        """).replace("HOSTS", hosts))
    bindir = Path(sys.executable).parent
    proc = subprocess.run([str(bindir / "ansible-playbook"), "-i", str(inventory), str(playbook), "-c", "local"],
                          capture_output=True, text=True, env=_playbook_env(tmp_path), timeout=120, check=False)
    return proc, proc.stdout + proc.stderr


def test_a_host_whose_variables_cannot_be_read_is_an_error_of_that_host(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(textwrap.dedent("""\
        all:
          vars:
            policy_groups: [{name: latency, thp: never}]
          hosts:
            good: {}
            broken: {policy_groups__10: "{{ undefined_variable.field }}"}
        """))
    proc, out = _validate_hosts_play(tmp_path, inventory, '"{{ ansible_play_hosts_all }}"')
    assert proc.returncode == 2, out
    assert "the documents of the hosts have 1 error:" in out and "broken: cannot read its variables:" in out, out
    assert "Traceback" not in out, out


def test_hosts_edge_cases_are_errors_not_crashes(tmp_path: Path) -> None:
    """A host the inventory does not have, a host given twice, a layer of a type no rule expects (a parent that is
    a list): each is reported, nothing ends in a traceback, and a host given twice counts once."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(textwrap.dedent("""\
        all:
          vars:
            policy_groups: [{name: a}, {name: b}]
          hosts:
            good: {}
            odd: {policy_groups__10: [{name: a, parent: [b]}]}
        """))
    proc, out = _validate_hosts_play(tmp_path, inventory, "[good, good, odd, ghost]")
    assert proc.returncode == 2, out
    assert "Traceback" not in out, out
    assert "ghost: is not a host of the inventory" in out, out
    assert "odd: policy_groups__10[0] (a).parent:" in out, out
    assert "good:" not in out.split("errors:")[-1], out
