# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One policy group (an item of the fleet document's ``policy_groups``): its options, and what reconciling
groups returns.

``DOCUMENTATION`` gives a group's options as a module's own options (policygroups.core.policy_group);
``GROUPS`` gives the same options as the items of a list option ``groups`` (policygroups.core.policy_groups).
Both modules describe a group with the same text. Private to this collection (the leading underscore).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# O(...) naming an option of this module by relative name: not O(ignore:...), not O(<plugin>#<type>:...).
_RELATIVE_OPTION = re.compile(r"\bO\((?!ignore:)(?![^)]*#)")


def _as_items_of(option: str, documentation: str) -> str:
    """A fragment giving the list option ``option`` the options of ``documentation`` as its suboptions.

    The module documents ``option`` itself (description, type, default); Ansible merges this fragment's
    ``suboptions`` into it. References by relative name move with the options: ``O(swap.tiers)`` becomes
    ``O(groups[].swap.tiers)``.
    """
    nested = _RELATIVE_OPTION.sub("O(%s[]." % option, documentation)
    suboptions: dict[str, Any] = yaml.safe_load(nested)["options"]
    return yaml.safe_dump({"options": {option: {"suboptions": suboptions}}}, sort_keys=False, width=1000)


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
  mem_priority:
    description:
      - Reclaim class of the memory charged to the cgroups bound to the group (C(members.cgroups), and the cgroups
        of C(members.systemd_units)) and to the groups below it that inherit it. Under memory pressure the kernel
        reclaims V(low) first, then V(normal), V(high) last. Omitted means V(inherit) (no group setting it means
        V(normal)).
      - Needs the C(mem_priority) kernel feature. Processes joined by PID (C(members.pids)) are not covered unless
        their cgroup is bound. The C(systemd) backend always reports it unsupported - mainline kernels cannot order
        reclaim across cgroups (C(MemoryLow=) protects an amount of memory, which is not the same).
    type: str
    choices: [low, normal, high]
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
          - systemd units, bound through their cgroup - the running unit's C(ControlGroup), or for a unit that is
            not running the cgroup it will get when it starts (the path of its C(Slice), then the unit's name, for
            example C(/system.slice/system-report.slice/report@1.service)), created if need be.
          - Only a unit systemd does not know, or has masked, is missing (see the C(missing_members) option).
        type: list
        elements: str
      pids:
        description:
          - Processes joined by PID.
        type: list
        elements: int
"""

    # Derived from DOCUMENTATION, so that the two cannot say different things. Annotated because ansible-test's
    # yamllint reads every plain assignment in this class as a YAML string literal.
    GROUPS: str = _as_items_of("groups", DOCUMENTATION)

    # How policygroups.core.policy_group and policygroups.core.policy_groups treat members that are not there.
    # RV(ignore:...): ansible-test checks this text against the module's RETURN before merging RETURN fragments.
    MISSING_MEMBERS = r"""
options:
  missing_members:
    description:
      - What to do when a listed PID has no process or a listed systemd unit is not known to systemd (not
        installed) or masked. A unit that is installed but not running is not missing - see C(members.systemd_units).
      - V(fail) fails before anything is changed, naming the member.
      - V(skip) leaves such members out and lists them in RV(ignore:skipped_members); a process that exits between
        planning and joining is skipped too.
    type: str
    choices: [fail, skip]
    default: fail
"""

    # What policygroups.core.policy_group and policygroups.core.policy_groups return.
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
    - {op: set_policy, group: latency, key: mem_priority, before: inherit, after: high}
    - {op: bind, group: latency, key: bind, before: null, after: /system.slice/api.service}
diff:
  description:
    - Before and after of every group an operation touches, keyed by group path, each with C(policies)
      (kernel values), C(settings) (the same policies in the fleet document's form and types, as in RV(groups))
      and C(members) (C(cgroups) bound, C(systemd_units) with a drop-in, C(pids) in the group); the same form
      with either backend.
  returned: always
  type: raw
  sample:
    before: {}
    after:
      latency:
        policies: {thp: never, ksm: inherit, oom_score_adj: "-500", swap_tiers: fast, zswap_writeback: inherit, numa: inherit,
                   mem_priority: high}
        settings: {thp: never, oom_score_adj: -500, swap: {tiers: [fast]}, mem_priority: high}
        members: {cgroups: [/system.slice/api.service], systemd_units: [], pids: [1234]}
groups:
  description:
    - Every group on the host after the run (in check mode, as it would be), keyed by path; the same form with
      either backend (the C(systemd) backend knows a group by its units' drop-ins, so C(cgroups) and C(pids)
      are empty there; the C(policyfs) backend binds units' cgroups, so C(systemd_units) is empty there).
    - C(policies) holds every policy as the kernel (or systemd) reports it, strings included (C(inherit) when
      unset). C(settings) holds the same policies as a fleet document writes them, in its types - C(ksm) and
      C(zswap_writeback) booleans, C(oom_score_adj) an integer, C(swap) with a C(tiers) list or C(enabled) false,
      C(numa) with C(mode) and C(nodes); C(swap) tiers in the kernel's order, highest first - with inherited
      policies left out (a value the fleet document cannot hold stays under the kernel's key), so a group's
      C(settings) can be compared with, or fed back as, its entry in the fleet document. On the C(systemd) backend
      a child group's unit carries what it inherits too, so its C(settings) include its parents' policies.
  returned: success
  type: dict
  sample:
    latency:
      name: latency
      parent: null
      policies: {thp: never, ksm: inherit, oom_score_adj: "-500", swap_tiers: fast, zswap_writeback: inherit, numa: inherit,
                   mem_priority: high}
      settings: {thp: never, oom_score_adj: -500, swap: {tiers: [fast]}, mem_priority: high}
      members: {cgroups: [/system.slice/api.service], systemd_units: [], pids: [1234]}
applied:
  description:
    - On failure, the operations that were applied before the failure (same form as RV(changes)), that is those
      before a failing operation, or all of them when reading the host back afterwards failed.
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
verify_remaining:
  description:
    - With O(verify=true), the operations still planned after applying (same form as RV(changes)); the run
      failed because of them.
  returned: failure of the verification
  type: list
  elements: dict
  sample: [{op: set_policy, group: latency, key: thp, before: inherit, after: never}]
skipped_members:
  description:
    - With O(missing_members=skip), the members left out and why.
  returned: when members were skipped
  type: list
  elements: str
  sample:
    - "group 'latency': process 1234 does not exist"
backend:
  description: The backend that ran.
  returned: always
  type: str
  sample: systemd
restart_required:
  description:
    - C(systemd) backend - active units whose exec-level settings (C(OOMScoreAdjust=), C(MemoryKSM=),
      C(MemoryTHP=), C(NUMAPolicy=)) changed in this run, or in an earlier run that stopped before systemd
      loaded them; they take effect at the unit's next start. Empty after O(restart_units=true) restarted
      them, and always empty with the C(policyfs) backend (the kernel applies a policy at once).
  returned: always
  type: list
  elements: str
  sample: [pg-demo.service]
unsupported:
  description:
    - Every group and policy of the input this host cannot express, with the reason (either backend).
      With O(unsupported=fail) the run failed before any write; with O(unsupported=warn) they were left out.
  returned: always
  type: list
  elements: dict
  sample:
    - {group: latency, policy: swap_tiers, reason: "swap tier selection (fast) does not exist in mainline kernels: ..."}
"""
