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
  - ansible.builtin.action_common_attributes
  - policygroups.core.group
  - policygroups.core.common
  - policygroups.core.common.lock
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second run reports no change.
    support: full
  platform:
    platforms: posix
options:
  missing_members:
    description:
      - What to do when a listed PID has no process or a listed systemd unit has no cgroup (not running).
      - V(fail) fails before anything is changed, naming the member; V(skip) leaves such members out and lists
        them in RV(skipped_members).
    type: str
    choices: [fail, skip]
    default: fail
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
changes:
  description:
    - The planned operations in execution order (in check mode, what would be done). Each is one kernel write,
      C(mkdir) or C(rmdir).
    - O(ignore:op) is one of C(set_tiers), C(create_group), C(set_policy), C(unbind), C(bind), C(join_pid),
      C(move_members), C(remove_group); O(ignore:group) is the group path (null for tier definitions);
      O(ignore:key) the policy or file; O(ignore:before) and O(ignore:after) the values.
  returned: always
  type: list
  elements: dict
  sample:
    - {op: create_group, group: latency, key: null, before: null, after: null}
    - {op: set_policy, group: latency, key: thp, before: inherit, after: never}
    - {op: bind, group: latency, key: bind, before: null, after: /system.slice/api.service}
diff:
  description:
    - Before and after of every group an operation touches, keyed by group path, each with C(policies)
      (kernel values) and C(members) (C(cgroups) bound, C(pids) in the group).
  returned: always
  type: dict
  sample:
    before: {}
    after:
      latency:
        policies: {thp: never, ksm: inherit, oom_score_adj: "-500", swap_tiers: fast, zswap_writeback: inherit, numa: inherit}
        members: {cgroups: [/system.slice/api.service], pids: [1234]}
groups:
  description:
    - Every group on the host after the run (in check mode, as it would be), keyed by path.
  returned: success
  type: dict
  sample:
    latency:
      name: latency
      parent: null
      policies: {thp: never, ksm: inherit, oom_score_adj: "-500", swap_tiers: fast, zswap_writeback: inherit, numa: inherit}
      members: {cgroups: [/system.slice/api.service], pids: [1234]}
applied:
  description:
    - On failure, the operations that were applied before the failing one (same form as RV(changes)).
  returned: failure
  type: list
  elements: dict
  sample:
    - {op: create_group, group: latency, key: null, before: null, after: null}
failed_operation:
  description:
    - On failure while applying, the operation that failed; nothing after it was attempted.
  returned: failure
  type: dict
  sample: {op: set_policy, group: latency, key: swap_tiers, before: inherit, after: fast}
skipped_members:
  description:
    - With O(missing_members=skip), the members left out and why.
  returned: when members were skipped
  type: list
  elements: str
  sample:
    - "group 'latency': process 1234 does not exist"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._modcommon import (
    COMMON_ARGS,
    GROUP_ARGS,
    MISSING_ARG,
    existing_paths,
    group_document,
    run_reconcile,
)
from ansible_collections.policygroups.core.plugins.module_utils._model import normalize


def main() -> None:
    module = AnsibleModule(
        argument_spec={**COMMON_ARGS, **GROUP_ARGS, "missing_members": MISSING_ARG},
        supports_check_mode=True,
    )
    group = group_document(module.params)
    run_reconcile(
        module,
        lambda actual: normalize({"policy_groups": [group]}, existing=existing_paths(actual)),
        purge=False,
        missing=module.params["missing_members"],
    )


if __name__ == "__main__":
    main()
