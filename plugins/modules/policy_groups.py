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
    zswap writeback, THP, KSM, OOM score adjustment, NUMA) and its members (cgroup bindings, systemd units,
    PIDs) - in one call, under a host lock.
  - Reads the host, computes an ordered plan (parents before children, bindings removed before a cgroup is
    bound elsewhere, members moved out before a group is removed) and applies it, or in check mode only
    reports it. A second run with the same input changes nothing.
  - Swap tier definitions are host-wide and managed by M(policygroups.core.swap_tiers).
  - If an operation fails, the module stops there and reports the operations already applied and the one that
    failed; every operation is a single kernel write that takes effect whole or not at all.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
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
  groups:
    description:
      - The groups, as the fleet document's C(policy_groups) items.
      - A policy that is not given is set to C(inherit).
    type: list
    elements: dict
    default: []
    suboptions:
        name:
          description:
            - Group name, unique on the host; C([A-Za-z0-9][A-Za-z0-9_-]{0,62}).
          type: str
          required: true
        description:
          description:
            - What the group is for. Documentation only; not stored in the kernel.
          type: str
        parent:
          description:
            - Name of the parent group, which must exist on the host (or, for M(policygroups.core.policy_groups), be
              in O(policygroups.core.policy_groups#module:groups)).
            - Omitted means a top-level group. The identity of a group on the host is its path C(parent/name), so changing
              the parent moves the group (created at the new path, members moved there, old path removed together
              with the groups below it that are not listed).
          type: str
        state:
          description:
            - V(absent) removes the group and every group below it, after moving their processes to the root group
              and removing their bindings.
          type: str
          choices: [present, absent]
          default: present
        swap:
          description:
            - Swap devices the group's pages may be written to. Omitted means V(inherit).
          type: dict
          suboptions:
            tiers:
              description:
                - Names of swap tiers (see M(policygroups.core.swap_tiers)); the pages go only to devices in these tiers.
              type: list
              elements: str
            enabled:
              description:
                - V(false) means no swap at all (kernel value C(none)). Exactly one of O(groups[].swap.tiers) and O(groups[].swap.enabled).
              type: bool
        zswap_writeback:
          description:
            - Whether zswap may write the group's compressed pages back to a swap device. Omitted means V(inherit).
          type: bool
        thp:
          description:
            - Transparent huge page mode for member processes. Omitted means V(inherit).
          type: str
          choices: [inherit, never, madvise, always]
        ksm:
          description:
            - KSM merging of all of the members' anonymous memory (merge-any). Omitted means V(inherit).
          type: bool
        oom_score_adj:
          description:
            - OOM score adjustment, -1000..1000, given to member processes. Omitted means V(inherit).
          type: int
        numa:
          description:
            - NUMA memory policy of member processes (needs the C(numa) kernel feature). Omitted means V(inherit).
          type: dict
          suboptions:
            mode:
              description:
                - Memory policy mode.
              type: str
              required: true
              choices: [default, local, preferred, bind, interleave]
            nodes:
              description:
                - Node list such as V(0-1) or V(0,2); required except for V(default) and V(local).
              type: str
        members:
          description:
            - Members of the group.
            - Bindings are exact - cgroups bound to the group but not listed (directly or through a unit) are unbound.
            - PIDs are joined; processes already in the group are never moved out (children inherit the group).
          type: dict
          suboptions:
            cgroups:
              description:
                - cgroup v2 paths (absolute, normalised) whose present and future processes join the group.
              type: list
              elements: str
            systemd_units:
              description:
                - systemd units, bound through their cgroup (C(systemctl show -p ControlGroup)). The unit must be running.
              type: list
              elements: str
            pids:
              description:
                - Processes joined by PID.
              type: list
              elements: int
  purge:
    description:
      - Remove groups on the host that O(groups) does not name (children first, after moving their processes
        to the root group and removing their bindings), so the set of groups is exact.
    type: bool
    default: false
  missing_members:
    description:
      - What to do when a listed PID has no process or a listed systemd unit has no cgroup (not running).
      - V(fail) fails before anything is changed, naming the member.
      - V(skip) leaves such members out and lists them in RV(skipped_members); a process that exits between
        planning and joining is skipped too.
    type: str
    choices: [fail, skip]
    default: fail
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
    run_reconcile,
)
from ansible_collections.policygroups.core.plugins.module_utils._model import normalize


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGS,
            "groups": {"type": "list", "elements": "dict", "default": [], "options": GROUP_ARGS},
            "purge": {"type": "bool", "default": False},
            "missing_members": MISSING_ARG,
        },
        supports_check_mode=True,
    )
    groups = [{k: v for k, v in group.items() if v is not None} for group in module.params["groups"]]
    run_reconcile(
        module,
        lambda actual: normalize({"policy_groups": groups}, existing=existing_paths(actual)),
        purge=module.params["purge"],
        missing=module.params["missing_members"],
    )


if __name__ == "__main__":
    main()
