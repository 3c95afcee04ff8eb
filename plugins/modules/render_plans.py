# -*- coding: utf-8 -*-
# Copyright: policygroups.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Documentation only: the work is done by the action plugin plugins/action/render_plans.py on the controller.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: render_plans
short_description: Write every host's offline policy plan and the fleet summary, on the controller
version_added: 0.1.0
description:
  - For each host of O(hosts), renders its concrete policy with P(policygroups.core.render#filter) from its
    inventory variables (C(policy_groups), C(policy_swap_tiers), the layers C(policy_groups__*) in name order, the
    groups it runs as C(policy_groups_select__*) names them) and its cached facts (C(policy_groups_facts) from
    inventory, else from Ansible's fact cache), compares it with the host's previous plan in O(dest)
    (P(policygroups.core.plan#filter)) and writes C(<dest>/<host>.yml); then writes the fleet summary
    C(<dest>/fleet-plan.md) (P(policygroups.core.fleet_plan#filter)).
  - "Runs on the controller only, in one task for the whole play: use it with C(run_once: true). It never
    connects to a host and runs no module; a file whose content is unchanged is not rewritten."
  - A host whose document cannot be rendered is listed in RV(errors) and fails the task; the other hosts' plans and
    the summary (without that host) are written first.
  - C(playbooks/render.yml) is this task with its output directory checked.
options:
  dest:
    description: The output directory; created when missing.
    type: path
    required: true
  hosts:
    description: The hosts to render, usually C("{{ ansible_play_hosts }}").
    type: list
    elements: str
    required: true
  on_unsupported:
    description:
      - What the render does with values a host's facts say it cannot honour (see the render filter), for hosts
        that do not set C(policy_groups_on_unsupported).
    type: str
    choices: [fail, drop, keep]
    default: fail
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
    details: Reports which files would change and writes none.
  delegation:
    support: none
    details: Runs on the controller whatever the task's host.
  diff_mode:
    support: none
  platform:
    platforms: all
seealso:
  - plugin: policygroups.core.render
    plugin_type: filter
  - plugin: policygroups.core.plan
    plugin_type: filter
author:
  - Policy groups contributors (@policygroups)
"""

EXAMPLES = r"""
- name: Write every host's plan under rendered/
  policygroups.core.render_plans:
    dest: rendered
    hosts: "{{ ansible_play_hosts }}"
  run_once: true
"""

RETURN = r"""
dest:
  description: The output directory, as an absolute path.
  returned: always
  type: str
  sample: /srv/plans/rendered
hosts:
  description: Per host rendered, whether it had facts and how many values were left out or warned about.
  returned: always
  type: dict
  sample: {web1: {facts: present, unsupported: 0, warnings: 1}}
written:
  description: The files written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
errors:
  description: Per host that could not be rendered, why.
  returned: always
  type: dict
"""
