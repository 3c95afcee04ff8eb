#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_groups_assess
short_description: Read what a host's memory settings are today, as input for an assessment
version_added: 0.1.0
description:
  - Reads a host without changing it, in one run - the cgroup v2 tree and the memory files that matter
    (C(memory.swap.max), C(memory.zswap.writeback), C(memory.low), C(memory.high), C(memory.max)), the memory
    properties of every loaded systemd unit, active or not, that sets one (a single C(systemctl show --all)), the
    swap devices and their priorities, the swap tier table, the global THP, KSM and zswap settings and, through the
    same probe as M(policygroups.core.policy_groups_info), the host's policy groups.
  - The controller turns the result into findings and a starter fleet document with the
    P(policygroups.core.assess_report#filter) filter; C(playbooks/assess.yml) does both and writes the reports.
  - Nothing below C(/sys/fs/cgroup) or C(/proc) is read through a symbolic link; a file that cannot be read is
    listed in RV(assessment.errors) and the rest is still read. A host without cgroup v2 or without systemd is not
    an error - RV(assessment.cgroup_v2) or RV(assessment.systemd) is V(false) with the reason.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core._common.info
  - policygroups.core._common.attributes
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.actiongroups
  - policygroups.core._common
attributes:
  action_group:
    details: >-
      Not in the action group C(policygroups.core.policygroups): it takes none of the group's locking options, so
      module_defaults set for the group would be refused by it.
seealso:
  - module: policygroups.core.policy_groups_info
  - plugin: policygroups.core.assess_report
    plugin_type: filter
"""

EXAMPLES = r"""
---
- name: Read the host's memory settings
  policygroups.core.policy_groups_assess:
  register: assessed

- name: Turn them into findings and a starter fleet document
  ansible.builtin.set_fact:
    report: "{{ assessed.assessment | policygroups.core.assess_report(host=inventory_hostname) }}"
"""

RETURN = r"""
assessment:
  description: What the host has today.
  returned: always
  type: dict
  contains:
    cgroup_v2:
      description: Whether a cgroup v2 hierarchy is mounted at C(/sys/fs/cgroup).
      type: bool
      sample: true
    cgroup_v2_reason:
      description: Why not, when RV(assessment.cgroup_v2) is V(false).
      type: str
      sample: no cgroup v2 hierarchy at /sys/fs/cgroup (no cgroup.controllers)
    cgroups:
      description:
        - Every cgroup below the root, by path, with the memory files whose value is not the default (an empty
          dict when all are). A file system mounted inside the tree (the reference kernel's policy hierarchy) is
          not walked.
      type: dict
      sample: {/system.slice: {}, /batch.slice: {memory.swap.max: "0"}, /batch.slice/report.service: {}}
    memory_files_seen:
      description: The memory files this kernel has (found in at least one cgroup).
      type: list
      elements: str
      sample: [memory.high, memory.low, memory.max, memory.swap.max, memory.zswap.writeback]
    cgroups_truncated:
      description: Whether the tree had more cgroups than the module lists (20000).
      type: bool
      sample: false
    systemd:
      description: Whether systemd's units were read.
      type: bool
      sample: true
    systemd_reason:
      description: Why not, when RV(assessment.systemd) is V(false).
      type: str
      sample: systemd is not the running init system (no /run/systemd/system)
    units_loaded:
      description: How many loaded units of a type with a cgroup systemd reported, active or not.
      type: int
      sample: 142
    units:
      description:
        - The units that set a memory property (C(settings), the properties that differ from an unset one), or
          whose cgroup has a memory file that is not the default, or whose unit files changed since systemd loaded
          them (C(need_daemon_reload)).
        - C(running_oom_score_adj) is the main process's C(/proc/PID/oom_score_adj) when the unit sets
          C(OOMScoreAdjust) and runs.
      type: dict
      sample:
        db.service:
          settings: {OOMScoreAdjust: "-800", MemorySwapMax: "0"}
          active_state: active
          transient: false
          control_group: /system.slice/db.service
          slice: system.slice
          need_daemon_reload: false
          fragment_path: /etc/systemd/system/db.service
          dropin_paths: []
          main_pid: 612
          running_oom_score_adj: "-800"
    swap_devices:
      description: Active swap devices (C(/proc/swaps)).
      type: list
      elements: dict
      sample: [{path: /dev/vda3, type: partition, size_kb: 1048572, used_kb: 0, priority: -2}]
    swap_tiers:
      description: The kernel's swap tiers (C(/sys/kernel/mm/swap/tiers)), highest first; null without swap tiers.
      type: list
      elements: dict
      sample: [{name: fast, start_priority: 100}, {name: slow, start_priority: -1}]
    globals:
      description: Global settings, each null when the kernel has no such file.
      type: dict
      sample: {thp_enabled: "always [madvise] never", thp_defrag: "always defer defer+madvise [madvise] never",
               ksm_run: "0", zswap_enabled: "N", zswap_compressor: lzo, zswap_max_pool_percent: "20", swappiness: "60"}
    errors:
      description: Files that could not be read, each C(path) with the C(error).
      type: list
      elements: dict
      sample: [{path: /sys/fs/cgroup/x.slice/memory.max, error: Permission denied}]
    policy_groups_info:
      description: What M(policygroups.core.policy_groups_info) returns for the host (backend, tiers, groups).
      type: dict
      sample: {backend: systemd, available: true, groups: {}}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._assess._assess import assess_host
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PolicyGroupsError
from ansible_collections.policygroups.core.plugins.module_utils._engine._info import host_info
from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO
from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import COMMON_ARGS, backend_from
from ansible_collections.policygroups.core.plugins.module_utils._engine._systemctl import module_runner

ASSESS_ARGS = {key: spec for key, spec in COMMON_ARGS.items() if key != "lock_timeout"}


def main() -> None:
    module = AnsibleModule(argument_spec=ASSESS_ARGS, supports_check_mode=True)
    params = module.params
    io = HostIO(params["host_root"])
    try:
        backend = backend_from({**params, "lock_timeout": None}, module)
    except PolicyGroupsError as exc:
        module.fail_json(msg=str(exc))
        return
    info, _state = host_info(backend, io)
    # host_root re-roots files only: no command runs under it (systemctl would read the live host).
    runner = module_runner(module) if (params["host_root"] or "/").rstrip("/") == "" else None
    assessment = assess_host(io, runner)
    assessment["policy_groups_info"] = info
    module.exit_json(changed=False, assessment=assessment)


if __name__ == "__main__":
    main()
