# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options and attributes shared by the policygroups.core modules that work on a host.

Private to this collection (the leading underscore): other collections must not extend it."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
requirements:
  - Linux, and Python 3.9 or newer with its standard library only, on the managed host
  - For O(backend=policyfs) - the reference kernel's policy groups (C(CONFIG_CGROUP_POLICY), ABI version 1),
    mounted at O(policy_root)
  - For O(backend=systemd) - systemd as the init system, with C(systemctl)
options:
  policy_root:
    description:
      - Where the policy-group hierarchy is mounted.
      - The collection's C(kernel) role mounts it at the default.
    type: path
    default: /sys/fs/cgroup/policy
  backend:
    description:
      - Kernel interface to use.
      - V(auto) probes the host and uses the first backend that is available there; a host without policy
        groups fails with a message naming what is missing (kernel controller, mount).
      - V(auto) tries V(policyfs) first, then V(systemd).
      - V(policyfs) is the reference kernel's policy-group hierarchy (C(CONFIG_CGROUP_POLICY)), ABI version 1.
      - V(systemd) maps the groups onto systemd unit properties of their C(systemd_units) members (drop-ins in
        C(/etc/systemd/system/UNIT.d/50-policygroups-GROUP.conf)) on a mainline kernel; what it cannot
        express is reported as unsupported (see docs/mainline.md). It has no swap tiers.
    type: str
    choices: [auto, policyfs, systemd]
    default: auto
  host_root:
    description:
      - A test seam - directory that stands for the host's C(/) when the module reads and writes C(/proc),
        C(/sys) and O(policy_root), and for the lock file C(/run/policygroups.lock).
      - Change it only to manage a simulated host tree (tests, benchmarks) or a policyfs host whose file system
        is mounted elsewhere. It re-roots files only - no command runs under it - so with any value but V(/)
        O(backend=systemd) is refused (C(systemctl) would act on the live host) and O(backend=auto) means
        V(policyfs).
    type: path
    default: /
"""

    LOCK = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait for the host lock C(/run/policygroups.lock) held by another run before failing.
      - Runs that change the host hold the lock exclusively, check-mode runs hold it shared.
    type: float
    default: 60
"""

    VERIFY = r"""
options:
  verify:
    description:
      - After applying (never in check mode), read the host again and plan once more under the same lock; fail
        when anything is still to be done, with those operations in RV(ignore:verify_remaining) - a write the
        host did not keep, or a change made by something else meanwhile.
      - The same check as a check-mode run of the same task afterwards, without another round trip to the host.
    type: bool
    default: false
"""

    MAINLINE = r"""
options:
  on_unsupported:
    description:
      - What to do with settings this host cannot express, with either backend (C(policyfs) - a policy or
        membership the kernel's C(policy.features) lacks; C(systemd) - swap tier choice, memory priority, members by
        PID or cgroup path, a child looser than its parent for a hierarchical kernel setting, a policy whose unit
        property this systemd or whose file this kernel lacks). The same words as the role's
        C(policy_groups_on_unsupported) and the render filter's C(on_unsupported).
      - V(fail) fails before any write and lists every finding in RV(ignore:unsupported).
      - V(drop) leaves those settings out (with groups inheriting them), applies the rest, and reports
        the findings in RV(ignore:unsupported) and as warnings.
      - V(warn) is the deprecated name of V(drop); the alias C(unsupported) is the deprecated name of the option.
    type: str
    choices: [fail, drop, warn]
    default: fail
    aliases: [unsupported]
  restart_units:
    description:
      - C(systemd) backend only - C(systemctl try-restart) the active units whose exec-level settings changed,
        so those take effect now. By default nothing is restarted and the units are listed in
        RV(ignore:restart_required).
      - Cgroup-level settings (C(MemorySwapMax=), C(MemoryZSwapWriteback=)) are applied to running units
        without a restart in any case.
    type: bool
    default: false
"""

    # Every module that works on a host. A module that does not support diff mode says so in its own
    # attributes, which take precedence over these. List this fragment first: ansible-doc shows the
    # attributes in the order of the first place that names them.
    ATTRIBUTES = r"""
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
    platforms: linux
"""

    # Modules that only read the host. List it before ATTRIBUTES: of two fragments, the first one named wins.
    INFO = r"""
attributes:
  check_mode:
    support: full
    details: The module only reads the host; it runs the same in check mode.
  diff_mode:
    support: N/A
    details: The module changes nothing, so there is no difference to show.
  idempotent:
    support: full
    details: The module changes nothing.
"""

    # The modules of the action group policygroups.core.policygroups (meta/runtime.yml), which share the options
    # module_defaults would set for the group (root, host_root, lock_timeout, ...).
    ACTION_GROUP = r"""
attributes:
  action_group:
    support: full
    membership:
      - policygroups.core.policygroups
"""
