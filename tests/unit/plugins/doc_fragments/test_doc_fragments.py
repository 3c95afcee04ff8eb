"""The doc fragments: one text for a group's options, attributes and results, as ansible-doc shows them."""

from __future__ import annotations

import json
import re
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.policygroups.core.plugins.doc_fragments._group import ModuleDocFragment as Group
from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import GROUP_ARGS, MISSING_ARG

REPO_ROOT = Path(__file__).resolve().parents[4]
HOST_MODULES = ("policy_group", "policy_groups", "policy_groups_info", "swap_tiers")
ALL_MODULES = tuple(sorted(p.stem for p in (REPO_ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__"))


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``ansible-doc --json`` of every module: the documentation after the fragments are merged in."""
    home = tmp_path_factory.mktemp("ansible-home")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO_ROOT / ".cache" / "collections"),
               ANSIBLE_HOME=str(home), ANSIBLE_LOCAL_TEMP=str(home / "tmp"))
    ansible_doc = Path(sys.executable).parent / "ansible-doc"
    out = subprocess.run([str(ansible_doc), "--json", "-t", "module", *("policygroups.core." + m for m in ALL_MODULES)],
                         env=env, capture_output=True, text=True, check=True)
    assert "WARNING" not in out.stderr, out.stderr
    return {name.rpartition(".")[2]: value for name, value in json.loads(out.stdout).items()}


def group_options() -> dict[str, Any]:
    options: dict[str, Any] = yaml.safe_load(Group.DOCUMENTATION)["options"]
    return options


def test_groups_fragment_nests_the_group_options() -> None:
    nested = yaml.safe_load(Group.GROUPS)["options"]
    assert list(nested) == ["groups"] and list(nested["groups"]) == ["suboptions"]
    suboptions = nested["groups"]["suboptions"]
    top = group_options()
    swap_enabled = "V(false) means no swap at all (kernel value C(none)). Exactly one of %s and %s."
    assert top["swap"]["suboptions"]["enabled"]["description"] == [
        swap_enabled % ("O(swap.tiers)", "O(swap.enabled)")]
    assert suboptions["swap"]["suboptions"]["enabled"]["description"] == [
        swap_enabled % ("O(groups[].swap.tiers)", "O(groups[].swap.enabled)")]
    # Apart from the relative references, the same options with the same text.
    del top["swap"]["suboptions"]["enabled"]["description"], suboptions["swap"]["suboptions"]["enabled"]["description"]
    assert suboptions == top


def test_references_to_other_modules_are_not_rewritten() -> None:
    reference = "O(policygroups.core.policy_groups#module:groups)"
    assert reference in " ".join(group_options()["parent"]["description"])
    assert reference in " ".join(yaml.safe_load(Group.GROUPS)["options"]["groups"]["suboptions"]["parent"]["description"])


def test_group_options_are_the_argument_spec() -> None:
    assert set(group_options()) == set(GROUP_ARGS)


def test_both_group_modules_document_one_group_alike(docs: dict[str, Any]) -> None:
    single = docs["policy_group"]["doc"]["options"]
    listed = docs["policy_groups"]["doc"]["options"]["groups"]
    assert set(group_options()) <= set(single)
    assert set(listed["suboptions"]) == set(group_options())
    assert listed["suboptions"]["thp"] == single["thp"]
    # The module's own words for the option stay next to the fragment's suboptions.
    assert listed["type"] == "list" and listed["elements"] == "dict" and listed["required"] is True
    assert listed["description"][0] == "The groups, as the fleet document's C(policy_groups) items."


def test_both_group_modules_document_missing_members_alike(docs: dict[str, Any]) -> None:
    single = docs["policy_group"]["doc"]["options"]["missing_members"]
    assert single == docs["policy_groups"]["doc"]["options"]["missing_members"]
    assert (single["type"], single["choices"], single["default"]) == (
        MISSING_ARG["type"], MISSING_ARG["choices"], MISSING_ARG["default"])


def test_both_group_modules_return_the_same(docs: dict[str, Any]) -> None:
    returned = docs["policy_group"]["return"]
    assert returned == docs["policy_groups"]["return"]
    assert set(returned) == set(yaml.safe_load(Group.RETURN))
    assert "extends_documentation_fragment" not in returned


@pytest.mark.parametrize("module", HOST_MODULES)
def test_host_modules_share_the_attributes(docs: dict[str, Any], module: str) -> None:
    attributes = docs[module]["doc"]["attributes"]
    assert attributes["check_mode"]["support"] == "full"
    assert attributes["idempotent"]["support"] == "full"
    assert attributes["platform"]["platforms"] == "linux"
    # Descriptions come from ansible.builtin.action_common_attributes, merged with the fragment's support.
    assert attributes["check_mode"]["description"]
    assert attributes["diff_mode"]["support"] == ("N/A" if module == "policy_groups_info" else "full")


@pytest.mark.parametrize("module", HOST_MODULES)
def test_host_modules_share_the_host_options(docs: dict[str, Any], module: str) -> None:
    options = docs[module]["doc"]["options"]
    assert {"policy_root", "backend", "host_root"} <= set(options)
    assert ("lock_timeout" in options) == (module != "policy_groups_info")


def test_module_metadata_as_users_expect(docs: dict[str, Any]) -> None:
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    group = runtime["action_groups"]["policygroups"]
    for name in HOST_MODULES:
        doc = docs[name]["doc"]
        assert doc["attributes"]["platform"]["platforms"] == "linux", name
        assert doc["attributes"]["action_group"]["membership"] == ["policygroups.core.policygroups"], name
        assert name in group, name
        assert any("Linux" in line for line in doc["requirements"]), name
    info = docs["policy_groups_info"]["doc"]["attributes"]
    assert info["diff_mode"]["support"] == "N/A" and info["check_mode"]["support"] == "full"
    assess = docs["policy_groups_assess"]["doc"]["attributes"]
    assert assess["diff_mode"]["support"] == "N/A"


def test_a_module_claims_the_action_group_exactly_when_the_group_lists_it(docs: dict[str, Any]) -> None:
    # module_defaults for group/policygroups.core.policygroups reach the modules meta/runtime.yml lists; the docs
    # of each module must say the same, both ways.
    runtime = yaml.safe_load((REPO_ROOT / "meta" / "runtime.yml").read_text())
    listed = set(runtime["action_groups"]["policygroups"])
    claiming = {name for name, entry in docs.items()
                if "policygroups.core.policygroups" in (entry["doc"].get("attributes", {}).get("action_group", {})
                                                        .get("membership") or [])}
    assert claiming == listed


def test_doc_fragments_are_private() -> None:
    fragments = sorted(p.name for p in (REPO_ROOT / "plugins" / "doc_fragments").glob("*.py"))
    assert fragments and all(name.startswith("_") for name in fragments), fragments


def test_the_documented_jsonschema_requirement_is_the_installed_range(docs: dict[str, Any]) -> None:
    # requirements.txt is what ansible-builder and pip install; a module's docs must not ask for more or less.
    lower = re.search(r"^jsonschema>=([0-9.]+)", (REPO_ROOT / "requirements.txt").read_text(), re.M)
    assert lower
    documented = [(name, line) for name, entry in docs.items() for line in entry["doc"].get("requirements", [])
                  if "jsonschema" in line]
    assert documented
    for name, line in documented:
        assert f"jsonschema >= {lower.group(1)} " in line, (name, line)
