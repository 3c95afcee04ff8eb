#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_group
short_description: Manage one memory policy group on a host
version_added: 0.1.0
description:
  - Creates, changes or removes one memory policy group - its policies (swap tiers, zswap writeback, THP, KSM,
    OOM score adjustment, NUMA) and its members (cgroup bindings, systemd units, PIDs) - under a host lock.
  - Other groups are left alone. To make the whole set of groups exact use M(policygroups.core.policy_groups)
    with O(policygroups.core.policy_groups#module:purge=true), which also reconciles hundreds of groups in one call.
  - A policy that is not given is set to C(inherit). Check mode reports the exact operations; a second run with
    the same options changes nothing.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core.common.attributes
  - ansible.builtin.action_common_attributes
  - policygroups.core.group
  - policygroups.core.group.missing_members
  - policygroups.core.common
  - policygroups.core.common.lock
  - policygroups.core.common.mainline
seealso:
  - module: policygroups.core.policy_groups
  - module: policygroups.core.policy_groups_info
"""

EXAMPLES = r"""
---
- name: A group for user-facing services that swaps only to the fast tier
  policygroups.core.policy_group:
    name: latency
    description: user-facing services
    swap:
      tiers: [fast]
    thp: never
    oom_score_adj: -500
    members:
      cgroups: [/system.slice/api.service]

- name: A child group that never swaps
  policygroups.core.policy_group:
    name: pinned
    parent: latency
    swap:
      enabled: false

- name: Remove a group (its processes go back to the root group)
  policygroups.core.policy_group:
    name: batch
    state: absent
"""

RETURN = r"""
extends_documentation_fragment:
  - policygroups.core.group
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._modcommon import (
    COMMON_ARGS,
    GROUP_ARGS,
    MISSING_ARG,
    desired_groups,
    group_document,
)
from ansible_collections.policygroups.core.plugins.module_utils._mainline_module import MAINLINE_ARGS, run_groups


def main() -> None:
    module = AnsibleModule(
        argument_spec={**COMMON_ARGS, **GROUP_ARGS, "missing_members": MISSING_ARG, **MAINLINE_ARGS},
        supports_check_mode=True,
    )
    run_groups(
        module,
        desired_groups([group_document(module.params)]),
        purge=False,
        missing=module.params["missing_members"],
    )


if __name__ == "__main__":
    main()
