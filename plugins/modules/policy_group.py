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
    OOM score adjustment, NUMA, memory priority) and its members (cgroup bindings, systemd units, PIDs) - under a
    host lock.
  - Other groups are left alone. To make the whole set of groups exact use M(policygroups.core.policy_groups)
    with O(policygroups.core.policy_groups#module:purge=true), which also reconciles hundreds of groups in one call.
  - A policy that is not given is set to C(inherit). Check mode reports the exact operations; a second run with
    the same options changes nothing.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core._common.attributes
  - ansible.builtin.action_common_attributes
  - policygroups.core._common.action_group
  - ansible.builtin.action_common_attributes.actiongroups
  - policygroups.core._group
  - policygroups.core._group.missing_members
  - policygroups.core._common
  - policygroups.core._common.lock
  - policygroups.core._common.verify
  - policygroups.core._common.mainline
options:
  reparent:
    description:
      - Allow a new O(parent) for a group that exists under another parent. The group is created under the new
        parent and its old path is removed with every group below it that is not listed, their members moved
        to the root group.
      - By default such a change fails before anything is written, naming the groups it would remove, so a
        typo in O(parent) cannot destroy a subtree.
    type: bool
    default: false
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
  - policygroups.core._group
"""

from typing import Callable

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PolicyGroupsError
from ansible_collections.policygroups.core.plugins.module_utils._engine._model import HostPolicy
from ansible_collections.policygroups.core.plugins.module_utils._engine._state import HostState

from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import (
    COMMON_ARGS,
    GROUP_ARGS,
    MISSING_ARG,
    VERIFY_ARG,
    desired_groups,
    group_document,
)
from ansible_collections.policygroups.core.plugins.module_utils._module._mainline_module import MAINLINE_ARGS, run_groups


def refuse_reparent(desired: Callable[[HostState], HostPolicy]) -> Callable[[HostState], HostPolicy]:
    """``desired``, failing before any write when a group would move to another parent: moving removes the
    group's old path and every group below it."""

    def guarded(actual: HostState) -> HostPolicy:
        policy = desired(actual)
        for group in policy.groups:
            if group.state != "present":
                continue
            moved = [path for path in actual.paths_by_name().get(group.name, []) if path != group.path]
            for old in moved:
                removed = sorted(path for path in actual.groups if path == old or path.startswith(old + "/"))
                raise PolicyGroupsError(
                    f"group {group.name!r} exists at {old!r}; parent {group.parent or '(none)'!r} would move it to "
                    f"{group.path!r} and remove {', '.join(removed)} (members moved to the root group): "
                    "set reparent=true if that is meant")
        return policy

    return guarded


def main() -> None:
    module = AnsibleModule(
        argument_spec={**COMMON_ARGS, **GROUP_ARGS, "missing_members": MISSING_ARG, **MAINLINE_ARGS,
                       "reparent": {"type": "bool", "default": False}, "verify": VERIFY_ARG},
        supports_check_mode=True,
    )
    desired = desired_groups([group_document(module.params)])
    run_groups(
        module,
        desired if module.params["reparent"] else refuse_reparent(desired),
        purge=False,
        missing=module.params["missing_members"],
    )


if __name__ == "__main__":
    main()
