# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the work is done by the action plugin plugins/action/validate.py on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: validate
short_description: Validate a policy-groups fleet document on the controller
version_added: 0.1.0
description:
  - Checks O(policy_groups) and O(policy_swap_tiers) against the collection's JSON Schema
    (C(schemas/policy_groups.schema.json), draft 2020-12) and against the rules a schema cannot express.
  - "The rules: unique group names, unique tier names and start priorities, parents that exist (for present groups), no parent cycles
    (the cycle is named), no present group under an absent parent, swap tiers referenced by a group that are
    defined, at most O(nr_swap_tiers) tiers, one tier starting at V(-1) when any tier is defined, cgroup paths that
    are absolute and normalised, a cgroup, unit or PID in at most one group, and names that cannot escape the
    policy root."
  - "Reports B(every) error, not only the first, each as C(<path>: <message>) where the path points into the
    document and names the group as well as its index, for example policy_groups[3] (postgres).swap.tiers[1]."
  - "Runs on the controller only and never connects to a managed host. Use it with C(run_once: true) before any
    task that changes hosts, so an invalid document changes nothing anywhere."
requirements:
  - jsonschema >= 4.0 on the controller (draft 2020-12 support)
options:
  policy_groups:
    description:
      - The policy groups of the fleet document (a list of group mappings), usually C("{{ policy_groups }}").
      - Omitted or V(null) means the document has no C(policy_groups) key.
      - Not type-checked by Ansible. The schema checks it and reports what it expected at which path.
    type: raw
  policy_swap_tiers:
    description:
      - The host-wide swap tier definitions of the fleet document (a list of C({name, start_priority})).
      - Omitted or V(null) means the document has no C(policy_swap_tiers) key.
    type: raw
  nr_swap_tiers:
    description:
      - The most swap tiers a host's kernel supports (the kernel's C(CONFIG_NR_SWAP_TIERS), 1 to 30).
    type: int
    default: 4
  hosts:
    description:
      - Hosts whose own documents are checked as well - for each, the fleet document read from its variables with
        its layers (variables named C(policy_groups__*)) merged over it and its selection (C(policy_groups_select__*))
        made, as the M(policygroups.core.policy_groups) role renders it. Each distinct document is checked once.
      - An error names the layer item or selection variable that caused it (for example
        C(policy_groups__20_db[0] (latency\).oom_score_adj), C(policy_groups_select__web[1])) and the hosts
        that get it. These documents are checked only when the fleet document itself is valid.
      - Give every host a play or a rollout will change (the role gives the play's hosts), so that a layer's
        mistake stops the run before any host changes, not when its host's batch comes.
      - Each host's variables are read from the inventory (and extra vars) through C(hostvars); variables a play
        sets itself (C(vars), C(vars_files), C(set_fact)) are not seen here. The role's render step, which sees them,
        checks the host's own document again before that host changes.
      - A host the inventory does not have, or whose variables cannot be templated, is reported as its own error.
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
  connection:
    support: none
  check_mode:
    support: full
    details: Validation only reads its arguments, so it runs the same in check mode.
  delegation:
    support: none
    details: Runs on the controller whatever the task's host.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - module: policygroups.core.policy_groups
  - module: policygroups.core.swap_tiers
  - module: ansible.builtin.assert
notes:
  - The fleet document reference is C(docs/fleet-document.md) in the collection.
author:
  - Policy groups contributors (@policygroups)
"""

EXAMPLES = r"""
- name: Validate the fleet document once per play, before touching any host
  policygroups.core.validate:
    policy_groups: "{{ policy_groups | default([]) }}"
    policy_swap_tiers: "{{ policy_swap_tiers | default([]) }}"
  run_once: true

- name: Validate for kernels built with CONFIG_NR_SWAP_TIERS=8, and keep going to report the errors
  policygroups.core.validate:
    policy_groups: "{{ policy_groups }}"
    policy_swap_tiers: "{{ policy_swap_tiers }}"
    nr_swap_tiers: 8
  run_once: true
  register: fleet_validation
  ignore_errors: true

- name: Show each error
  ansible.builtin.debug:
    msg: "{{ item.path }}: {{ item.message }}"
  loop: "{{ fleet_validation.errors }}"
  run_once: true
"""

RETURN = r"""
errors:
  description:
    - Every problem found, in document order; empty when the document is valid.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: Where the problem is, for example C(policy_groups[3] (postgres\).swap.tiers[1]) (the index and,
        when it is valid, the group's name); C((document)) for the whole.
      type: str
      returned: always
      sample: policy_groups[3] (postgres).swap.tiers[1]
    message:
      description: What is wrong and what was expected.
      type: str
      returned: always
      sample: "tier 'nvme' is not defined in policy_swap_tiers (defined: fast, slow)"
  sample:
    - path: policy_groups[1] (batch).parent
      message: "names 'background', which is not a group in policy_groups (groups: batch, latency)"
host_errors:
  description:
    - The errors of the hosts' own documents (option O(hosts)), one item per distinct document that has errors.
  returned: always
  type: list
  elements: dict
  contains:
    hosts:
      description: The hosts that get this document.
      type: list
      elements: str
      returned: always
    errors:
      description: "Each error as C(<path>: <message>), the path naming the layer item or selection it came from."
      type: list
      elements: str
      returned: always
  sample:
    - hosts: [db1, db2]
      errors: ["policy_groups__20_db[0] (latency).oom_score_adj: must be at least -1000; got -5000"]
documents:
  description: How many distinct documents the hosts of O(hosts) get (0 without O(hosts)).
  returned: always
  type: int
  sample: 3
msg:
  description:
    - "On failure, the number of errors and each error as C(<path>: <message>) on its own line; on success a summary."
  returned: always
  type: str
  sample: "the fleet document is valid: 3 policy groups and 2 swap tiers"
"""
