#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_groups_info
short_description: Report the host's memory policy groups, kernel features and swap devices
version_added: 0.1.0
description:
  - Probes the host - which backend applies, the policy ABI version and features, swap tiers and devices, NUMA
    nodes - and reads every policy group with its own and effective policy values and its members.
  - A host without policy groups is not an error; RV(policy_groups_info.available) is V(false) and
    RV(policy_groups_info.reason) says what is missing.
  - With O(persist_path), also reads the persisted policy restored at boot and reports how the running state
    differs from it.
  - With O(stats=true), also reads each group's statistics (C(policy.stat)).
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core._common.info
  - policygroups.core._common.attributes
  - ansible.builtin.action_common_attributes
  - policygroups.core._common.action_group
  - ansible.builtin.action_common_attributes.actiongroups
  - policygroups.core._common
options:
  persist_path:
    description:
      - Path of the persisted policy document (JSON, as written by the C(policygroups.core.policy_groups) role).
    type: path
  restore_unit:
    description:
      - Name of the boot-time restore's systemd unit; the module then reports whether it is enabled
        (C(systemctl is-enabled)), so a caller can leave an enabled unit alone without a task of its own.
      - Not asked with O(host_root) other than V(/), where no command runs.
    type: str
  stats:
    description:
      - Also read each group's C(policy.stat) and return it as the group's C(stats) in
        RV(policy_groups_info.groups), every value an integer by key - C(members), C(covered_bytes) and
        C(ksm_merging_pages) (now), C(thp_fault_alloc), C(thp_fault_fallback), C(oom_kill), C(swpout_<tier>) (pages
        swapped out, one key per swap tier), C(swpout_refused), C(covered_reclaimed) and C(covered_deferred)
        (counted since the group was created), and any key a newer kernel adds.
      - Needs the V(policyfs) backend on a kernel whose C(policy.features) lists C(stat); otherwise the module
        fails and says what is missing. The V(systemd) backend has no such statistics (mainline kernels keep none
        per policy group); a unit's cgroup has its C(memory.stat).
      - A line of C(policy.stat) that is not a key and a non-negative integer is left out with a warning; the
        other keys are returned.
      - On a host without policy groups (RV(policy_groups_info.available) is V(false)) there is nothing to read
        and the option changes nothing.
      - With V(false), C(policy.stat) is not read.
    type: bool
    default: false
seealso:
  - module: policygroups.core.policy_groups
"""

EXAMPLES = r"""
---
- name: Probe the host
  policygroups.core.policy_groups_info:
  register: probe

- name: Show the effective THP mode of the latency group
  ansible.builtin.debug:
    msg: "{{ probe.policy_groups_info.groups['latency'].effective.thp }}"
  when: probe.policy_groups_info.available

- name: Compare the running state with the persisted one
  policygroups.core.policy_groups_info:
    persist_path: /etc/policygroups/policy.json
  register: persisted

- name: Read each group's statistics (kernel feature stat)
  policygroups.core.policy_groups_info:
    stats: true
  register: probe_stats

- name: Show how many members of background/batch the OOM killer has taken
  ansible.builtin.debug:
    msg: "{{ probe_stats.policy_groups_info.groups['background/batch'].stats.oom_kill }}"
"""

RETURN = r"""
check_mode:
  description:
    - Whether the module ran in check mode (C(--check), or C(check_mode) on the play, block or task). Playbooks
      use it to skip what only makes sense after changes were applied; C(ansible_check_mode) shows C(--check)
      only.
  returned: always
  type: bool
  sample: false
policy_groups_info:
  description: What the host offers and holds.
  returned: always
  type: dict
  contains:
    backend:
      description: The backend probed (V(policyfs) or V(systemd); with O(backend=auto), the first available).
      type: str
      sample: policyfs
    available:
      description: Whether policy groups can be managed on this host.
      type: bool
      sample: true
    reason:
      description: Why not, when RV(policy_groups_info.available) is V(false).
      type: str
      sample: "policy groups are not available on this host: kernel 6.1.0-28-amd64 has no 'policy' cgroup controller"
    abi_version:
      description: C(policy.abi_version) of the kernel; null with the V(systemd) backend.
      type: int
      sample: 1
    features:
      description:
        - V(policyfs) - the policies the kernel enforces and C(bind), as C(policy.features) lists them.
        - V(systemd) - the policy keys (C(thp), C(ksm), C(oom_score_adj), C(swap_tiers), C(zswap_writeback),
          C(numa)) whose unit property this host's systemd has and whose kernel interface this kernel has, then
          C(systemd_units) (units are the only members there). C(swap_tiers) here means C(swap.enabled=false)
          (C(MemorySwapMax=0)); tier selection and C(mem_priority) are never supported (see
          RV(policy_groups_info.unsupported)).
      type: list
      elements: str
      sample: [thp, ksm, oom_score_adj, swap_tiers, zswap_writeback, numa, mem_priority, bind]
    kernel_release:
      description: The running kernel's release.
      type: str
      sample: 6.12.0-policy
    tiers_supported:
      description: Whether C(/sys/kernel/mm/swap/tiers) exists (always V(false) with the V(systemd) backend).
      type: bool
      sample: true
    swap_tiers:
      description: Defined swap tiers, highest start priority first.
      type: list
      elements: dict
      sample: [{name: fast, start_priority: 100}, {name: slow, start_priority: -1}]
    swap_devices:
      description: Active swap devices (C(/proc/swaps)) with the tier each belongs to.
      type: list
      elements: dict
      sample: [{path: /dev/zram0, type: partition, priority: 200, size_kb: 1048572, used_kb: 0, tier: fast}]
    numa_nodes:
      description: Online NUMA nodes.
      type: list
      elements: int
      sample: [0]
    groups:
      description:
        - Groups keyed by path, each with C(name), C(parent), C(policies) (own kernel values), C(settings) (the
          same policies in the fleet document's form and types, inherited ones left out, as the group modules
          return them), C(effective) (from C(policy.effective)) and C(members) (C(cgroups) bound, C(pids)).
        - With the C(systemd) backend, the groups found in the collection's drop-ins; C(policies) and
          C(effective) are the rendered values and C(members) also has C(systemd_units).
        - With O(stats=true), each group also has C(stats), its C(policy.stat) as integers by key.
      type: dict
      sample:
        background/batch:
          name: batch
          parent: background
          policies: {thp: inherit, ksm: inherit, oom_score_adj: "500", swap_tiers: slow, zswap_writeback: inherit, numa: inherit,
                     mem_priority: inherit}
          settings: {oom_score_adj: 500, swap: {tiers: [slow]}}
          members: {cgroups: [/system.slice/report.service], pids: [4211, 4230]}
          effective: {thp: never, ksm: "1", oom_score_adj: "500", swap_tiers: slow, zswap_writeback: default, numa: default,
                      mem_priority: low}
          stats: {members: 2, covered_bytes: 734003200, ksm_merging_pages: 5120, thp_fault_alloc: 0, thp_fault_fallback: 0,
                  oom_kill: 1, swpout_fast: 0, swpout_slow: 48211, swpout_refused: 0, covered_reclaimed: 90112,
                  covered_deferred: 0}
    systemd_version:
      description: C(systemd) backend - the first line of C(systemctl --version).
      type: str
      returned: when the systemd backend is available
      sample: systemd 257 (257.13-1~deb13u1)
    unsupported:
      description:
        - C(systemd) backend - each policy (or C(swap_tiers.tiers), C(members.pids), C(members.cgroups)) this
          host cannot express, with the reason; see docs/mainline.md. C(mem_priority) is always among them (no
          mainline kernel orders reclaim across cgroups).
      type: dict
      returned: when the systemd backend is available
      sample: {thp: "systemd 257 (257.13-1~deb13u1) has no MemoryTHP= unit property (asked with systemctl show)"}
    persisted:
      description: The persisted document, or null when O(persist_path) does not exist.
      type: dict
      returned: when O(persist_path) is set
      sample: {format: 1, policy_groups: [{name: latency, thp: never}]}
    persisted_drift:
      description:
        - Operations that restoring the persisted document would perform now (same form as the C(changes) of
          M(policygroups.core.policy_groups)); empty when the running state matches it.
      type: list
      elements: dict
      returned: when O(persist_path) is set
      sample: [{op: set_policy, group: latency, key: thp, before: always, after: never}]
    restore_unit_enabled:
      description:
        - Whether O(restore_unit) is enabled; null when that cannot be asked (no C(systemctl), or O(host_root)
          other than V(/)).
      type: bool
      returned: when O(restore_unit) is set
      sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import COMMON_ARGS
from ansible_collections.policygroups.core.plugins.module_utils._module._probe import ProbeError, probe

INFO_ARGS = {key: spec for key, spec in COMMON_ARGS.items() if key != "lock_timeout"}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            **INFO_ARGS,
            "persist_path": {"type": "path"},
            "restore_unit": {"type": "str"},
            "stats": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        info, _backend = probe(module, params, persist_path=params["persist_path"],
                               restore_unit=params["restore_unit"], stats=params["stats"])
    except ProbeError as exc:
        module.fail_json(msg=str(exc), **({} if exc.info is None else {"policy_groups_info": exc.info}))
        return
    module.exit_json(changed=False, policy_groups_info=info, check_mode=module.check_mode)


if __name__ == "__main__":
    main()
