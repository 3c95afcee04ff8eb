#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swap_tiers
short_description: Define the host's swap tiers (named ranges of swap priorities)
version_added: 0.1.0
description:
  - Makes C(/sys/kernel/mm/swap/tiers) hold the given tiers, in one all-or-nothing kernel write. The syntax
    is that of the swap-tiers series posted on linux-mm.
  - A tier is a range of swap priorities from its O(tiers[].start_priority) up to one below the next tier's
    start; a swap device belongs to the tier covering its C(swapon -p) priority. Policy groups name tiers in
    their C(swap) policy (M(policygroups.core.policy_groups)).
  - Refuses, before writing, to remove a tier that a policy group still names. The kernel refuses (and the module
    reports) changes that would move an active swap device to another tier, reuse a start priority, or exceed
    C(CONFIG_NR_SWAP_TIERS) tiers.
  - A tier whose start priority changes is removed and re-added in the same write, which keeps the groups'
    references to it.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core._common.attributes
  - ansible.builtin.action_common_attributes
  - policygroups.core._common.action_group
  - ansible.builtin.action_common_attributes.actiongroups
  - policygroups.core._common
  - policygroups.core._common.lock
  - policygroups.core._common.verify
options:
  tiers:
    description:
      - The tiers. With O(purge=true) (the default) this is the exact set; one tier must start at V(-1) unless
        the list is empty.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Tier name, 1 to 15 characters of C([A-Za-z0-9_]).
        type: str
        required: true
      start_priority:
        description:
          - Lowest swap priority in the tier, -1..32767; unique among tiers.
        type: int
        required: true
  purge:
    description:
      - Remove tiers on the host that O(tiers) does not name. With V(false), listed tiers are added or changed
        and others kept.
    type: bool
    default: true
notes:
  - To rename a tier that groups use, add the new tier, move the groups to it, then remove the old one.
seealso:
  - module: policygroups.core.policy_groups
  - module: policygroups.core.policy_groups_info
"""

EXAMPLES = r"""
---
- name: Fast devices (priority 100 and above) and slow ones (everything below)
  policygroups.core.swap_tiers:
    tiers:
      - {name: fast, start_priority: 100}
      - {name: slow, start_priority: -1}

- name: Add a tier without touching the others
  policygroups.core.swap_tiers:
    tiers:
      - {name: zram, start_priority: 1000}
    purge: false
"""

RETURN = r"""
changes:
  description:
    - The planned operations (in check mode, what would be done). Here at most one C(set_tiers) operation with
      the tier table before and after.
  returned: always
  type: list
  elements: dict
  sample:
    - op: set_tiers
      group: null
      key: tiers
      before: []
      after: [{name: fast, start_priority: 100}, {name: slow, start_priority: -1}]
diff:
  description:
    - The tier table before and after.
  returned: always
  type: dict
  sample:
    before: {tiers: []}
    after: {tiers: [{name: fast, start_priority: 100}, {name: slow, start_priority: -1}]}
tiers:
  description:
    - The tiers on the host after the run (in check mode, as they would be), highest start priority first.
  returned: success
  type: list
  elements: dict
  sample: [{name: fast, start_priority: 100}, {name: slow, start_priority: -1}]
applied:
  description:
    - On failure, the operations applied before the failing one.
  returned: failure
  type: list
  elements: dict
  sample: []
verify_remaining:
  description:
    - With O(verify=true), the tier change still planned after applying; the run failed because of it.
  returned: failure of the verification
  type: list
  elements: dict
  sample: []
failed_operation:
  description:
    - On failure while applying, the operation the kernel refused; the tier table is unchanged.
  returned: failure
  type: dict
  sample: {op: set_tiers, group: null, key: tiers, before: [], after: [{name: fast, start_priority: 100}]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import COMMON_ARGS, VERIFY_ARG, exit_result
from ansible_collections.policygroups.core.plugins.module_utils._module._tiers import TIER_OPTIONS, tiers_result


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **COMMON_ARGS,
            "tiers": {"type": "list", "elements": "dict", "required": True, "options": TIER_OPTIONS},
            "purge": {"type": "bool", "default": True},
            "verify": VERIFY_ARG,
        },
        supports_check_mode=True,
    )
    ok, result, _outcome = tiers_result(module, module.params["tiers"], module.params["purge"])
    exit_result(module, ok, result)


if __name__ == "__main__":
    main()
