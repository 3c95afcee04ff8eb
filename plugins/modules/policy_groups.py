#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_groups
short_description: Make the memory policy groups of a host match a list, in one call
version_added: 0.1.0
description:
  - Reconciles every listed memory policy group on the host - the group itself, its policies (swap tiers,
    zswap writeback, THP, KSM, OOM score adjustment, NUMA, memory priority) and its members (cgroup bindings,
    systemd units, PIDs) - in one call, under a host lock.
  - Reads the host, computes an ordered plan (parents before children, bindings removed before a cgroup is
    bound elsewhere, members moved out before a group is removed) and applies it, or in check mode only
    reports it. A second run with the same input changes nothing.
  - Swap tier definitions are host-wide and managed by M(policygroups.core.swap_tiers).
  - If an operation fails, the module stops there and reports the operations already applied and the one that
    failed; every operation is a single kernel write that takes effect whole or not at all.
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
options:
  groups:
    description:
      - The groups, as the fleet document's C(policy_groups) items.
      - A policy that is not given is set to C(inherit).
      - Required, so that an omitted or misspelt list is an error, not a request for no groups. An explicit
        empty list is a decision - with O(purge=true) it removes every group on the host.
    type: list
    elements: dict
    required: true
    # suboptions: a group's options, from the policygroups.core._group.groups fragment
  purge:
    description:
      - Remove groups on the host that O(groups) does not name (children first, after moving their processes
        to the root group and removing their bindings), so the set of groups is exact.
    type: bool
    default: false
  planned_tiers:
    description:
      - Check mode only - the swap tier table that an earlier task of the same run would have written, usually
        the C(tiers) that M(policygroups.core.swap_tiers) returned in check mode.
      - Groups are checked and planned against these tiers instead of the host's, so on a host whose tiers are not
        defined yet the tiers the run would create are not reported as missing, and the groups' changes are planned.
      - Ignored outside check mode, where the host's own tier table is read.
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
notes:
  - Policy values are compared with the group's own kernel value (C(inherit) when unset), never the effective one.
seealso:
  - module: policygroups.core.policy_group
  - module: policygroups.core.swap_tiers
  - module: policygroups.core.policy_groups_info
"""

EXAMPLES = r"""
---
- name: Latency and batch groups, exactly these on the host
  policygroups.core.policy_groups:
    purge: true
    groups:
      - name: latency
        swap:
          tiers: [fast]
        thp: never
        oom_score_adj: -500
        members:
          cgroups: [/system.slice/api.service]
      - name: background
        ksm: true
      - name: batch
        parent: background
        swap:
          tiers: [slow]
        members:
          systemd_units: [report.service]

- name: Report drift without changing anything
  policygroups.core.policy_groups:
    groups: "{{ policy_groups }}"
  check_mode: true
  register: drift

- name: Join processes that may already have exited
  policygroups.core.policy_groups:
    groups:
      - name: latency
        members:
          pids: [4242, 4243]
    missing_members: skip
"""

RETURN = r"""
extends_documentation_fragment:
  - policygroups.core._group
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import (
    COMMON_ARGS,
    GROUP_ARGS,
    MISSING_ARG,
    PLANNED_TIERS_ARG,
    VERIFY_ARG,
    desired_groups,
    group_document,
)
from ansible_collections.policygroups.core.plugins.module_utils._module._mainline_module import MAINLINE_ARGS, run_groups


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGS,
            "groups": {"type": "list", "elements": "dict", "required": True, "options": GROUP_ARGS},
            "purge": {"type": "bool", "default": False},
            "missing_members": MISSING_ARG,
            "planned_tiers": PLANNED_TIERS_ARG,
            **MAINLINE_ARGS,
            "verify": VERIFY_ARG,
        },
        supports_check_mode=True,
    )
    run_groups(
        module,
        desired_groups([group_document(group) for group in module.params["groups"]]),
        purge=module.params["purge"],
        missing=module.params["missing_members"],
        planned_tiers=module.params["planned_tiers"],
    )


if __name__ == "__main__":
    main()
