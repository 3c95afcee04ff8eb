#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_host
short_description: Probe a host, apply its rendered policy, verify and persist it, in one module run
version_added: 0.4.0
description:
  - The host half of M(policygroups.core.policy_groups_converge), which renders one host's policy on the
    controller and runs this module with the result. Use that one; this module takes an already rendered plan.
  - Probes the host first (as M(policygroups.core.policy_groups_info)). When the probe's rendering facts differ
    from O(rendered_facts), the facts the plan was rendered against, it changes nothing and returns
    RV(rerender=true) with the probe, so the caller renders again; otherwise it reconciles the swap tiers
    (as M(policygroups.core.swap_tiers)), then the groups (as M(policygroups.core.policy_groups)), each
    verified with O(verify), and writes O(persist), all in the same run.
  - The run holds the host lock from its probe through its persist step, so that no other run changes the host
    or its persisted files in between - exclusively when it applies or persists, shared in check mode and when
    it does neither. A run with O(probe_only=true) reads without the lock, as
    M(policygroups.core.policy_groups_info) does.
  - Each persisted file comes with the SHA-256 of the bytes it must have, and its bytes only when the caller does
    not know the host to have them (the probe's C(persisted_sha256), cached with the facts). When a file whose
    bytes were left out differs from its digest, the module changes nothing and returns RV(need_content), so
    the caller sends them.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core._common.attributes
  - ansible.builtin.action_common_attributes
  - policygroups.core._common.action_group
  - ansible.builtin.action_common_attributes.actiongroups
  - policygroups.core._group.groups
  - policygroups.core._group.missing_members
  - policygroups.core._common
  - policygroups.core._common.lock
  - policygroups.core._common.verify
  - policygroups.core._common.mainline
attributes:
  check_mode:
    support: full
    details: Reports what each step would change; the groups are planned against the tier table the tier step
      would write, and the persisted files are compared, not written.
  diff_mode:
    support: full
options:
  rendered_facts:
    description:
      - The rendering facts (the part of the probe that rendering reads) the plan was rendered against; null
        when it was rendered without facts, which always asks for a rendering against this host's.
    type: raw
  probe_only:
    description: Probe and return, changing nothing.
    type: bool
    default: false
  apply:
    description: Reconcile tiers and groups (V(false) - probe, and persist if O(persist) is given).
    type: bool
    default: true
  tiers:
    description:
      - The swap tier table to reach; null leaves the host's tiers unmanaged.
    type: list
    elements: dict
    suboptions:
      name:
        description: Tier name.
        type: str
        required: true
      start_priority:
        description: Lowest swap priority of the tier.
        type: int
        required: true
  tiers_purge:
    description: Remove tiers that O(tiers) does not name.
    type: bool
    default: true
  groups:
    description: The rendered groups, as the fleet document's C(policy_groups) items.
    type: list
    elements: dict
    default: []
  purge:
    description: Remove groups on the host that O(groups) does not name.
    type: bool
    default: false
  persist_path:
    description: Read the persisted policy from here for the probe (its C(persisted_drift)).
    type: path
  restore_unit:
    description: Ask systemd whether this unit is enabled, for the probe and for O(persist).
    type: str
  persist:
    description:
      - The files to persist for the boot-time restore and its unit. Each is compared with the host's file and
        written atomically when it differs; never through a symbolic link. The unit O(restore_unit) is enabled
        when it changed or is not enabled (not with O(host_root) other than V(/)); what was written is flushed.
    type: dict
    suboptions:
      files:
        description: The files, in order.
        type: list
        elements: dict
        required: true
        suboptions:
          what:
            description: A name for the file in the result.
            type: str
            required: true
          path:
            description: Absolute path on the host.
            type: path
            required: true
          sha256:
            description: The SHA-256 (hex) of the content the file must have.
            type: str
            required: true
          content:
            description: Its content, base64-encoded; left out when the host is believed to have it already.
            type: str
      wanted_by:
        description: The target whose C(.wants/) the unit is enabled into (flushed after enabling).
        type: str
        default: sysinit.target
      legacy:
        description: Paths of an earlier layout, removed when any file changed.
        type: list
        elements: path
        default: []
notes:
  - Not meant to be called on its own; M(policygroups.core.policy_groups_converge) and the C(policy_groups) role
    call it.
seealso:
  - module: policygroups.core.policy_groups_converge
"""

EXAMPLES = r"""
---
- name: Probe only (what the converge action does when it has no facts to render against)
  policygroups.core.policy_host:
    probe_only: true
  register: probe
"""

RETURN = r"""
rerender:
  description: The host's rendering facts differ from O(rendered_facts); nothing was changed.
  type: bool
  returned: always
policy_groups_info:
  description:
    - The probe, as M(policygroups.core.policy_groups_info) returns it; with O(persist), also
      C(persisted_sha256), the SHA-256 of each persisted file by path as the host has it after this run (null
      for an absent file).
  type: dict
  returned: when the host could be probed
need_content:
  description: The persisted files (their C(what)) that differ from their digest and whose content was not sent;
    nothing was changed.
  type: list
  elements: str
  returned: when the content of a file that differs was not sent
check_mode:
  description: Whether the module ran in check mode.
  type: bool
  returned: always
tiers_result:
  description: The tier step's result, as M(policygroups.core.swap_tiers) returns it.
  type: dict
  returned: when the tier step ran
groups_result:
  description: The group step's result, as M(policygroups.core.policy_groups) returns it.
  type: dict
  returned: when the group step ran
persist_result:
  description:
    - C(changed), C(files) (what, path, changed), C(directories) made, C(enabled) (the unit was or would be
      enabled), C(removed) (legacy paths), C(flushed) (paths given to sync).
  type: dict
  returned: when O(persist) is given
"""

import base64
from typing import Any

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PolicyGroupsError
from ansible_collections.policygroups.core.plugins.module_utils._engine._lock import HostLock
from ansible_collections.policygroups.core.plugins.module_utils._module._mainline_module import (
    MAINLINE_ARGS,
    groups_result,
)
from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import (
    COMMON_ARGS,
    GROUP_ARGS,
    MISSING_ARG,
    VERIFY_ARG,
    desired_groups,
    group_document,
    lock_path,
)
from ansible_collections.policygroups.core.plugins.module_utils._module._persist import (
    PersistError,
    PersistFile,
    PersistSpec,
    digests,
    missing_content,
    persist,
)
from ansible_collections.policygroups.core.plugins.module_utils._module._probe import ProbeError, probe, render_facts
from ansible_collections.policygroups.core.plugins.module_utils._module._tiers import TIER_OPTIONS, tiers_result

PERSIST_ARGS: dict[str, Any] = {
    "files": {"type": "list", "elements": "dict", "required": True, "options": {
        "what": {"type": "str", "required": True},
        "path": {"type": "path", "required": True},
        "sha256": {"type": "str", "required": True},
        "content": {"type": "str", "no_log": False},
    }},
    "wanted_by": {"type": "str", "default": "sysinit.target"},
    "legacy": {"type": "list", "elements": "path", "default": []},
}


def persist_spec(params: dict[str, Any]) -> PersistSpec:
    given = params["persist"]
    root = (params["host_root"] or "/").rstrip("/")
    return PersistSpec(
        files=[PersistFile(f["what"], f["path"], f["sha256"],
                           None if f["content"] is None else base64.b64decode(f["content"])) for f in given["files"]],
        unit_name=params["restore_unit"] or "",
        wanted_by=given["wanted_by"],
        legacy=list(given["legacy"]),
        prefix=root,
    )


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGS,
            "rendered_facts": {"type": "raw"},
            "probe_only": {"type": "bool", "default": False},
            "apply": {"type": "bool", "default": True},
            "tiers": {"type": "list", "elements": "dict", "options": TIER_OPTIONS},
            "tiers_purge": {"type": "bool", "default": True},
            "groups": {"type": "list", "elements": "dict", "default": [], "options": GROUP_ARGS},
            "purge": {"type": "bool", "default": False},
            "missing_members": MISSING_ARG,
            **MAINLINE_ARGS,
            "verify": VERIFY_ARG,
            "persist_path": {"type": "path"},
            "restore_unit": {"type": "str"},
            "persist": {"type": "dict", "options": PERSIST_ARGS},
        },
        required_by={"persist": ["restore_unit"]},
        supports_check_mode=True,
    )
    params = module.params
    if params["probe_only"]:
        run(module, params)  # reads only
        return
    # One lock from the probe to the persist step: another run's writes in between would leave this run's
    # persisted files (written, or skipped as already right by the probe) other than what the host runs. The
    # steps' own locks nest into it.
    writes = not module.check_mode and (params["apply"] or params["persist"] is not None)
    try:
        lock = HostLock(lock_path(params), timeout=params["lock_timeout"], shared=not writes)
        lock.acquire()
    except PolicyGroupsError as exc:
        module.fail_json(msg=str(exc), changed=False, rerender=False, check_mode=module.check_mode)
        return
    try:
        run(module, params)
    finally:
        lock.release()


def run(module: AnsibleModule, params: dict[str, Any]) -> None:
    """Probe, apply and persist as the options say, and exit the module."""
    try:
        info, _backend = probe(module, params, persist_path=params["persist_path"], restore_unit=params["restore_unit"])
    except ProbeError as exc:
        module.fail_json(msg=str(exc), **({} if exc.info is None else {"policy_groups_info": exc.info}))
        return
    spec = persist_spec(params) if params["persist"] else None
    if spec is not None:
        info["persisted_sha256"] = digests(spec)
    result: dict[str, Any] = {"changed": False, "rerender": False, "policy_groups_info": info,
                              "check_mode": module.check_mode}
    if params["probe_only"] or render_facts(info) != params["rendered_facts"]:
        result["rerender"] = not params["probe_only"]
        module.exit_json(**result)
        return
    if spec is not None and (missing := missing_content(spec, info["persisted_sha256"])):
        module.exit_json(**result, need_content=missing)  # before any change: the next run has the bytes
        return
    planned = None
    if params["apply"] and params["tiers"] is not None and not module.check_mode:
        # Every refusal before the first write: where the tier table would change, the groups are planned first
        # against the table it would become (a unit systemd does not know, a value or a tier the host refuses).
        # A converged table costs one more read of it (this check-mode plan), and no plan of the groups.
        ok, tiers_plan, _outcome = tiers_result(module, params["tiers"], params["tiers_purge"], check_mode=True)
        if ok and tiers_plan["changed"]:
            desired = desired_groups([group_document(group) for group in params["groups"]])
            ok, groups_plan, _outcome = groups_result(module, desired, params["purge"],
                                                      missing=params["missing_members"],
                                                      planned_tiers=tiers_plan.get("tiers"), check_mode=True)
            if not ok:
                module.fail_json(**{**result, "groups_result": groups_plan,
                                    "msg": f"policy groups: {groups_plan.get('msg')} (nothing was changed)"})
                return
    if params["apply"] and params["tiers"] is not None:
        ok, result["tiers_result"], _outcome = tiers_result(module, params["tiers"], params["tiers_purge"])
        if not ok:
            module.fail_json(**{**result, "msg": f"swap tiers: {result['tiers_result'].get('msg')}"})
            return
        result["changed"] = bool(result["tiers_result"]["changed"])
        planned = result["tiers_result"].get("tiers") if module.check_mode else None
    if params["apply"]:
        desired = desired_groups([group_document(group) for group in params["groups"]])
        ok, result["groups_result"], _outcome = groups_result(module, desired, params["purge"],
                                                              missing=params["missing_members"],
                                                              planned_tiers=planned)
        if not ok:
            module.fail_json(**{**result, "msg": f"policy groups: {result['groups_result'].get('msg')}"})
            return
        result["changed"] = result["changed"] or bool(result["groups_result"]["changed"])
    if spec is not None:
        try:
            result["persist_result"] = persist(module, spec, info.get("restore_unit_enabled"),
                                               current=info["persisted_sha256"])
        except (PersistError, OSError) as exc:
            module.fail_json(**{**result, "msg": f"persisting the policy: {exc}"})
            return
        result["changed"] = result["changed"] or result["persist_result"]["changed"]
        if not module.check_mode:
            info["persisted_sha256"] = {item.path: item.sha256 for item in spec.files}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
