# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of one policy group (the fleet document's C(policy_groups) item)."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
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
          - V(false) means no swap at all (kernel value C(none)). Exactly one of O(swap.tiers) and O(swap.enabled).
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
"""
