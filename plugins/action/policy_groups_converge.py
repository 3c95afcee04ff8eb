# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for policygroups.core.policy_groups_converge: one host's policy in one module run.

On the controller: render the host's policy (the render filter: document, layers, selection, host facts), pack
the boot-time restore and the persisted document. On the host, in one run of policygroups.core.policy_host:
probe, apply tiers and groups, verify, persist. The facts the rendering needs come from the host's last probe
(``facts``, usually the cached ``policy_groups_facts``); the module compares them with its own probe before it
changes anything, and when they differ (or there were none) returns its probe instead, and the plan is rendered
again and sent once more. A host whose facts are known costs one module run; one whose facts are not, or
changed, two. The persisted files go as digests where the facts say the host has them (``persisted_sha256``)
and with their bytes where not; a host whose files changed behind the facts answers which it lacks, and they are
sent in a second run.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterable, Mapping
from typing import Any

import ansible.plugins.action as action_plugins
from ansible.plugins.action import ActionBase
from ansible.plugins.filter.core import to_nice_json

import ansible_collections.policygroups.core.plugins.module_utils as module_utils_package
from ansible_collections.policygroups.core.plugins.filter.lookalike_vars import lookalike_vars
from ansible_collections.policygroups.core.plugins.filter.render import RenderError, render
from ansible_collections.policygroups.core.plugins.module_utils._engine._backend import BACKEND_CHOICES, DEFAULT_POLICY_ROOT
from ansible_collections.policygroups.core.plugins.module_utils._engine._members import MISSING_CHOICES
from ansible_collections.policygroups.core.plugins.module_utils._fleet._restore_pack import PackError, pack_bytes
from ansible_collections.policygroups.core.plugins.module_utils._module._probe import render_facts

HOST_MODULE = "policygroups.core.policy_host"
# The module's options this action passes through as given.
PASSED = ("policy_root", "backend", "host_root", "lock_timeout", "tiers_purge", "purge", "missing_members",
          "restart_units", "verify", "on_unsupported")
# What the probe holds that is not a fact of the host (the role's policy_groups_facts leaves them out).
NOT_FACTS = ("persisted", "persisted_drift", "restore_unit_enabled")

ARGUMENT_SPEC: dict[str, dict[str, Any]] = {
    "policy_groups": {"type": "raw"},
    "policy_swap_tiers": {"type": "raw"},
    "layers": {"type": "dict", "default": {}},
    "select": {"type": "dict", "default": {}},
    "facts": {"type": "raw"},
    "on_unsupported": {"type": "str", "default": "fail", "choices": ["fail", "drop"]},
    "apply": {"type": "bool", "default": True},
    "persist": {"type": "bool", "default": True},
    "persist_path": {"type": "path", "default": "/etc/policygroups/policy.json"},
    "restore": {"type": "dict", "options": {
        "entry_point": {"type": "path", "required": True},
        "packages": {"type": "list", "elements": "str", "required": True},
        "path": {"type": "path", "required": True},
        "unit": {"type": "str", "required": True},
        "unit_content": {"type": "str", "required": True},
        "wanted_by": {"type": "str", "default": "sysinit.target"},
        "legacy": {"type": "list", "elements": "path", "default": []},
    }},
    "policy_root": {"type": "path", "default": DEFAULT_POLICY_ROOT},
    "backend": {"type": "str", "default": "auto", "choices": list(BACKEND_CHOICES)},
    "host_root": {"type": "path", "default": "/"},
    "lock_timeout": {"type": "float", "default": 60.0},
    "tiers_purge": {"type": "bool", "default": True},
    "purge": {"type": "bool", "default": False},
    "missing_members": {"type": "str", "default": "fail", "choices": list(MISSING_CHOICES)},
    "restart_units": {"type": "bool", "default": False},
    "verify": {"type": "bool", "default": True},
    "check_vars": {"type": "dict", "options": {
        "settings": {"type": "list", "elements": "str", "default": []},
        "ignore": {"type": "list", "elements": "str", "default": []},
    }},
    "swap_devices": {"type": "bool", "default": False},
    "vars_only": {"type": "bool", "default": False},
    "publish": {"type": "bool", "default": False},
}


def refusals(args: Mapping[str, Any], varnames: Iterable[str]) -> list[str]:
    """Why the host's variables must not be used, before anything is read or written (empty: they may): a name that
    looks like the collection's but is not, purge on an absent document where the run applies or persists, swap
    devices on a host tree."""
    found: list[str] = []
    check = args["check_vars"]
    if check is not None:
        lookalikes = lookalike_vars(varnames, check["settings"], ignore=check["ignore"])
        if lookalikes:
            found += ["variables that look like policygroups.core variables but are not (a typo leaves the document "
                      "it was meant for absent; list the names you mean in policy_groups_ignore_vars):",
                      *(item["message"] for item in lookalikes)]
    # applying would remove every group, persisting would make the next boot's restore remove them; a run that only
    # probes and renders (tasks_from: probe.yml) changes nothing
    if args["purge"] and args["policy_groups"] is None and (args["apply"] or args["persist"]):
        found.append("policy_groups is not defined for this host (or is null) and purge is true (the policy_groups "
                     "role's policy_groups_purge): that would remove every group. Define policy_groups: [] to mean "
                     "no groups, or check the name of the variable.")
    if args["swap_devices"] and args["host_root"] not in ("", "/"):
        found.append("swap_devices (the policy_groups role's policy_groups_swap_devices) run swapon, swapoff and "
                     "mkswap, which act on the live host: they cannot be used with host_root (policy_groups_host_root) "
                     f"{args['host_root']}")
    return found


def published(result: Mapping[str, Any], task_vars: Mapping[str, Any]) -> dict[str, Any]:
    """The variables the policy_groups role publishes after its converge task (``result``; ``task_vars``: this
    task's): what the role's set_fact of the same names sets, a step that did not run leaving its variable out."""
    groups = result.get("groups_result")
    variables: dict[str, Any] = {
        "policy_groups_probe": {"policy_groups_info": result["policy_groups_info"],
                                "check_mode": result.get("check_mode", task_vars.get("ansible_check_mode", False))},
        "policy_groups_rendered": result["rendered"],
        "policy_groups_restart_required": groups.get("restart_required", []) if isinstance(groups, Mapping) else [],
    }
    facts = {**(task_vars.get("ansible_facts") or {}), **(result.get("ansible_facts") or {})}
    if "policy_groups_facts" in facts:
        variables["policy_groups_facts"] = facts["policy_groups_facts"]
    for name, key in (("policy_groups_tiers_result", "tiers_result"), ("policy_groups_result", "groups_result"),
                      ("policy_groups_persist_result", "persist_result")):
        if key in result:
            variables[name] = result[key]
    return variables


def host_facts(info: Mapping[str, Any]) -> dict[str, Any]:
    """The probe without what is not a fact of the host: what the role keeps as ``policy_groups_facts``."""
    return {key: value for key, value in info.items() if key not in NOT_FACTS}


def persist_file(what: str, path: str, content: bytes, host_sha256: Any, send: bool = True) -> dict[str, str]:
    """One entry of the module's ``persist.files``: its digest, and its bytes when ``send`` and the host does not
    have them (``host_sha256``: the digest of its file, as its facts say)."""
    digest = hashlib.sha256(content).hexdigest()
    entry = {"what": what, "path": path, "sha256": digest}
    if send and host_sha256 != digest:
        entry["content"] = base64.b64encode(content).decode()
    return entry


def persisted_document(args: Mapping[str, Any], rendered: Mapping[str, Any]) -> dict[str, Any]:
    """The document the boot-time restore reads: the rendered policy minus PIDs and absent groups."""
    return {
        "format": 1,
        "policy_root": args["policy_root"],
        "purge": bool(args["purge"]),
        "tiers_purge": bool(args["tiers_purge"]),
        "policy_swap_tiers": rendered["persist"]["policy_swap_tiers"],
        "policy_groups": rendered["persist"]["policy_groups"],
    }


class ActionModule(ActionBase):
    """Render on the controller, then probe, apply, verify and persist on the host in one module run."""

    TRANSFERS_FILES = False
    _supports_check_mode = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        refused = refusals(args, task_vars)
        if refused:
            return {**result, "failed": True, "changed": False, "msg": refused}
        if args["vars_only"]:
            return {**result, "changed": False, "msg": "the host's variables are fine; vars_only: nothing else done"}
        groups = args["policy_groups"] if args["policy_groups"] is not None else []
        document = {"policy_groups": groups, "policy_swap_tiers": args["policy_swap_tiers"]}
        facts = args["facts"] if isinstance(args["facts"], Mapping) else None
        try:
            restore = self._restore_files(args)
        except (OSError, PackError) as exc:
            return {**result, "failed": True, "changed": False, "msg": f"cannot pack the boot-time restore: {exc}"}
        runs = 0
        probe_only = False
        while True:
            try:
                rendered = render(document, facts, layers=args["layers"] or None, select=args["select"] or None,
                                  host=task_vars.get("inventory_hostname"), on_unsupported=args["on_unsupported"])
            except RenderError as exc:
                return {**result, "failed": True, "changed": False, "msg": str(exc)}
            if facts is not None and args["on_unsupported"] == "fail" and rendered["unsupported"]:
                if runs and not probe_only:
                    return self._unsupported(result, rendered, facts, runs)
                probe_only = True  # the facts may be stale: probe before failing, never apply what may be refused
            module_args = self._module_args(args, rendered, facts, restore, probe_only)
            answer = self._execute_module(module_name=HOST_MODULE, module_args=module_args, task_vars=task_vars)
            runs += 1
            info = answer.get("policy_groups_info")
            if answer.get("failed") or not (answer.get("rerender") or probe_only or answer.get("need_content")):
                break
            if runs >= 3:
                break
            if not isinstance(info, Mapping):
                break
            if probe_only and render_facts(info) == render_facts(facts):
                return self._unsupported(result, rendered, info, runs)
            facts, probe_only = dict(info), False  # its persisted_sha256 says which bytes to send now
        if answer.get("need_content") and not answer.get("failed"):
            return {**result, "failed": True, "changed": False, "module_runs": runs,
                    "msg": f"the persisted files changed on the host while they were being sent: {answer['need_content']}"}
        out = self._result(result, answer, rendered, runs)
        out["persist_sent"] = [f["what"] for f in (module_args.get("persist") or {}).get("files", []) if "content" in f]
        if not out.get("failed") and "policy_groups_info" in out:
            out["published"] = bool(args["publish"]) and self._publish(published(out, task_vars))
        return out

    def _publish(self, variables: dict[str, Any]) -> bool:
        """Set ``variables`` for the host as set_fact does (its layer), where this ansible-core lets an action do so
        (2.21 and later); False where not, and the role's set_fact does it."""
        register = getattr(self, "register_host_variables", None)
        layer = getattr(getattr(action_plugins, "VariableLayer", None), "EPHEMERAL_FACT", None)
        if register is None or layer is None:
            return False
        register(variables, layer)
        return True

    def _module_args(self, args: Mapping[str, Any], rendered: Mapping[str, Any], facts: Mapping[str, Any] | None,
                     restore: list[tuple[str, str, bytes]] | None, probe_only: bool) -> dict[str, Any]:
        module_args: dict[str, Any] = {key: args[key] for key in PASSED}
        module_args.update(
            rendered_facts=render_facts(facts),
            probe_only=probe_only,
            apply=bool(args["apply"]),
            tiers=rendered["policy_swap_tiers"],
            groups=rendered["policy_groups"],
            persist_path=args["persist_path"] if args["restore"] else None,
            restore_unit=args["restore"]["unit"] if args["restore"] else None,
        )
        if args["persist"] and restore is not None:
            policy = (to_nice_json(persisted_document(args, rendered), sort_keys=True) + "\n").encode()
            known = (facts or {}).get("persisted_sha256") or {}
            # a run without facts, or one that only probes, returns before persisting: no bytes for it
            send = facts is not None and not probe_only
            files = [*restore[:1], ("policy", args["persist_path"], policy), *restore[1:]]
            module_args["persist"] = {"files": [persist_file(what, path, content, known.get(path), send)
                                                for what, path, content in files],
                                      "wanted_by": args["restore"]["wanted_by"], "legacy": args["restore"]["legacy"]}
        return module_args

    @staticmethod
    def _restore_files(args: Mapping[str, Any]) -> list[tuple[str, str, bytes]] | None:
        """The restore zip and its unit (what, path, bytes), for the module's ``persist.files``."""
        restore = args["restore"]
        if not restore or not args["persist"]:
            return None
        base = os.path.dirname(module_utils_package.__file__)
        archive = pack_bytes(restore["entry_point"], [os.path.join(base, name) for name in restore["packages"]])
        unit_path = f"/etc/systemd/system/{restore['unit']}"
        return [("restore", restore["path"], archive), ("unit", unit_path, restore["unit_content"].encode())]

    @staticmethod
    def _unsupported(result: dict[str, Any], rendered: Mapping[str, Any], facts: Mapping[str, Any], runs: int
                     ) -> dict[str, Any]:
        messages = [u["message"] for u in rendered["unsupported"]]
        return {**result, "failed": True, "changed": False, "rendered": dict(rendered), "module_runs": runs,
                "msg": "this host cannot honour the policy (set policy_groups_on_unsupported: drop to apply the "
                       "rest): " + "; ".join(messages), "unsupported": messages,
                "ansible_facts": {"policy_groups_facts": host_facts(facts)}}

    @staticmethod
    def _result(result: dict[str, Any], answer: dict[str, Any], rendered: Mapping[str, Any], runs: int
                ) -> dict[str, Any]:
        info = answer.get("policy_groups_info")
        out = {**result, **{k: v for k, v in answer.items() if k not in ("invocation", "_ansible_parsed")}}
        out.update(rendered=dict(rendered), module_runs=runs)
        diffs = [d for key in ("tiers_result", "groups_result") for d in [(answer.get(key) or {}).get("diff")] if d]
        diffs += list((answer.get("persist_result") or {}).get("diff") or [])
        if diffs:
            out["diff"] = diffs
        if isinstance(info, Mapping):
            out["ansible_facts"] = {"policy_groups_facts": host_facts(info)}
        if answer.get("rerender") and not answer.get("failed"):
            out.update(failed=True, msg="the host's facts changed twice while its policy was being rendered")
        return out
