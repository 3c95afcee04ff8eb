#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# This module is implemented as an action plugin (plugins/action/policy_groups_converge.py), which runs
# policygroups.core.policy_host on the host.

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_groups_converge
short_description: Render, apply, verify and persist one host's memory policy groups in one module run
version_added: 0.4.0
description:
  - What the C(policy_groups) role runs on each host. On the controller it renders the host's policy from the
    fleet document, its layers and selection and the host's facts (the C(policygroups.core.render) filter),
    and packs the boot-time restore; on the host, one run of M(policygroups.core.policy_host) probes it,
    reconciles the swap tiers and the groups under the host lock, verifies them, and persists the policy for
    the boot-time restore.
  - The facts come from the host's last probe (O(facts), usually the cached C(policy_groups_facts)). The host
    compares them with its own probe before it changes anything; when they differ, or O(facts) is not given,
    it returns its probe instead, and the plan is rendered again and sent once more. So a host whose facts are
    known costs one module run, and a plan is never applied that was rendered against facts the host no longer
    has.
  - With O(on_unsupported=fail), a policy the host cannot honour fails the host before anything is changed,
    naming each value.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core._common.attributes
  - ansible.builtin.action_common_attributes
  - policygroups.core._common.action_group
  - ansible.builtin.action_common_attributes.actiongroups
  - policygroups.core._common
  - policygroups.core._common.lock
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details: Reports what each step would change, the persisted files included; nothing is written.
  diff_mode:
    support: full
    details: The tier table, the groups and the persisted document and unit, before and after.
options:
  policy_groups:
    description:
      - The fleet document's C(policy_groups). Not given means the host has no document, which is not an empty one
        - with O(purge) the host is refused before anything is read or written, as that would remove every group;
        without, it is rendered as no groups.
    type: raw
  policy_swap_tiers:
    description: The fleet document's C(policy_swap_tiers); null leaves the host's tier table unmanaged.
    type: raw
  layers:
    description: Layers merged over O(policy_groups) (variable name to list of group items), as the role's
      C(policy_groups__*) variables.
    type: dict
    default: {}
  select:
    description: Selections (variable name to list of group names), as the role's C(policy_groups_select__*).
    type: dict
    default: {}
  facts:
    description: The host's facts from its last probe (C(policy_groups_facts)); when missing or out of date the
      host is probed first, which costs one more module run.
    type: raw
  on_unsupported:
    description: What to do with a value the host cannot honour - V(fail) the host before any change, or
      V(drop) the value and apply the rest.
    type: str
    choices: [fail, drop]
    default: fail
  apply:
    description: Reconcile the tiers and groups (V(false) - render and probe only, and persist if O(persist)).
    type: bool
    default: true
  persist:
    description: Write the persisted policy, the restore and its unit when O(restore) is given.
    type: bool
    default: true
  persist_path:
    description: The persisted policy the boot-time restore reads.
    type: path
    default: /etc/policygroups/policy.json
  restore:
    description: The boot-time restore to install; without it nothing is persisted and the persisted policy is
      not read.
    type: dict
    suboptions:
      entry_point:
        description: The restore's entry point on the controller (the role's C(files/policygroups-restore.py)).
        type: path
        required: true
      packages:
        description: The C(plugins/module_utils) subpackages packed with it.
        type: list
        elements: str
        required: true
      path:
        description: Where the restore zip is installed.
        type: path
        required: true
      unit:
        description: The restore's systemd unit, installed in C(/etc/systemd/system) and enabled.
        type: str
        required: true
      unit_content:
        description: The unit file.
        type: str
        required: true
      wanted_by:
        description: The target the unit is enabled into.
        type: str
        default: sysinit.target
      legacy:
        description: Paths of an earlier version's layout, removed when the persisted files change.
        type: list
        elements: path
        default: []
  check_vars:
    description:
      - Check the host's variables on the controller before anything else, and fail the host, naming each, where
        one looks like the collection's but is not (C(policy_group) for C(policy_groups), which leaves the document
        it was meant for absent).
      - The C(policy_groups) role runs these checks, with O(swap_devices) and the purge refusal, in a task of their
        own with O(vars_only) before its converge task, so that every host of a batch is checked before any of
        them changes.
    type: dict
    suboptions:
      settings:
        description: The names of the role's settings, which are the collection's (C(policy_groups_*)).
        type: list
        elements: str
        default: []
      ignore:
        description: Variable names to leave alone (the role's C(policy_groups_ignore_vars)).
        type: list
        elements: str
        default: []
  swap_devices:
    description: Whether swap devices are to be managed on the host (the role's C(policy_groups_swap_devices)).
      They act on the live host (C(swapon), C(swapoff), C(mkswap)), so the host fails where O(host_root) is other
      than V(/).
    type: bool
    default: false
  vars_only:
    description: Make the refusals (O(check_vars), O(swap_devices), purge on an absent document), then stop - no
      rendering and no module run.
    type: bool
    default: false
  publish:
    description:
      - Set the variables the C(policy_groups) role publishes for the host (C(policy_groups_probe),
        C(policy_groups_facts), C(policy_groups_rendered), C(policy_groups_tiers_result), C(policy_groups_result),
        C(policy_groups_persist_result), C(policy_groups_restart_required)), as C(ansible.builtin.set_fact) would
        after this task, where ansible-core lets an action set host variables (2.21 and later); RV(published) says
        whether it did. A step that did not run leaves its variable unset. Not on failure.
    type: bool
    default: false
  tiers_purge:
    description: Remove tiers O(policy_swap_tiers) does not name.
    type: bool
    default: true
  purge:
    description: Remove groups the document does not name.
    type: bool
    default: false
  missing_members:
    description: A member that does not exist - V(fail), or V(skip) it.
    type: str
    choices: [fail, skip]
    default: fail
  restart_units:
    description: On a mainline host, restart active units whose settings changed.
    type: bool
    default: false
  verify:
    description: Read back and plan again under the same lock after applying; fail with what is left.
    type: bool
    default: true
seealso:
  - module: policygroups.core.policy_host
  - module: policygroups.core.policy_groups
  - module: policygroups.core.validate
"""

EXAMPLES = r"""
---
- name: Converge a host to the fleet document (the role does this, with layers and the restore)
  policygroups.core.policy_groups_converge:
    policy_groups: "{{ policy_groups }}"
    policy_swap_tiers: "{{ policy_swap_tiers }}"
    facts: "{{ policy_groups_facts | default(omit) }}"
  register: converge
"""

RETURN = r"""
rendered:
  description: The host's rendered policy, as the C(policygroups.core.render) filter returns it.
  type: dict
  returned: when the policy was rendered (not with O(vars_only), nor where the host's variables were refused)
policy_groups_info:
  description: The host's probe (M(policygroups.core.policy_groups_info)).
  type: dict
  returned: when the host was reached
tiers_result:
  description: The tier step's result (M(policygroups.core.swap_tiers)).
  type: dict
  returned: when the tier step ran
groups_result:
  description: The group step's result (M(policygroups.core.policy_groups)).
  type: dict
  returned: when the group step ran
persist_result:
  description: What persisting wrote or would write (M(policygroups.core.policy_host)).
  type: dict
  returned: when persisting ran
module_runs:
  description: Module runs on the host - 1 when the facts were current, 2 when they were rendered again.
  type: int
  returned: when the host was reached
persist_sent:
  description: The persisted files whose bytes went to the host in this run (the others as their digest only, which
    the host had already).
  type: list
  elements: str
  returned: when the host was reached
published:
  description: Whether O(publish) set the role's variables for the host (false where this ansible-core cannot).
  type: bool
  returned: when the policy was rendered and the task did not fail
unsupported:
  description: The messages of the values the host cannot enforce, when O(on_unsupported=fail) refused them.
  type: list
  elements: str
  returned: on that failure
"""
