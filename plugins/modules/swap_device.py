#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: swap_device
short_description: Put a swap device (zram, swap file or partition) at its priority, so that it is in its swap tier
version_added: 0.1.0
description:
  - Makes one swap device active at the given O(priority), or at the priority of the swap tier O(tier), now and
    at every boot. Swap tiers (M(policygroups.core.swap_tiers)) are ranges of priorities; a device is in the tier
    whose range holds its priority, so this module is what puts devices in tiers.
  - A device that is active at another priority is swapped off and on again at the new one. Before that swapoff
    the module checks that the device's used pages fit in memory (C(MemAvailable) plus the free space of the
    other swap devices) and refuses, changing nothing, when they do not; a swapoff the kernel still refuses is
    reported with its message, and the device stays active at its old priority.
  - O(type=zram) - loads the C(zram) kernel module if needed, adds the device, sets its compression algorithm and
    size, formats and swaps it on. A device whose size or algorithm differs is swapped off, reset and set up
    again. A zram device that is set up but holds no swap area (a file system, say) is left alone and reported;
    one set up that never stored anything (a run stopped before C(mkswap)) is formatted. O(size) is compared as
    the kernel rounds it, up to whole pages.
  - O(type=file) - creates the file with O(size) (mode 0600, allocated without holes) and formats it when it does
    not exist, under a temporary name linked to O(path) once it holds a swap area; an existing file must already
    hold a swap area and is not resized. An existing file is given to root (C(chown)) and mode 0600 (C(chmod)),
    since whoever owns or may read it reads the pages swapped to it.
  - O(type=partition) - the block device must already hold a swap area (C(mkswap)); the module never formats a
    partition.
  - Persistence (O(persistent=true)) is the device's C(/etc/fstab) line with C(pri=), which Debian's installer
    writes (without C(pri=)) and C(swapon -a) and systemd's fstab generator read. The device's existing line is
    edited in place, whichever spec it uses (C(UUID=), C(LABEL=), a path); a device without one gets a line with
    O(path). A zram device also gets a udev rule that sets its algorithm and size and formats it when the kernel
    adds it at boot, and C(/etc/modules-load.d/policygroups-zram.conf), which loads the module; for C(zram1) and
    higher, C(/etc/modprobe.d/policygroups-zram.conf) asks the module for that many devices. No package beyond a
    Debian 12 or 13 base system is needed.
  - Files the module writes (the swap file, C(/etc/fstab), the udev rule, the modules-load and modprobe files) are
    reached without following a symbolic link; a link on the way or at the file itself is refused.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - policygroups.core._common.lock
  - policygroups.core._common.verify
attributes:
  check_mode:
    support: full
    details: Reports the exact operations a run would make, in RV(changes), and changes nothing.
  diff_mode:
    support: full
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second run reports no change.
    support: full
  platform:
    platforms: linux
options:
  path:
    description:
      - The device - C(/dev/zramN) for O(type=zram), the swap file's path for O(type=file), the block device for
        O(type=partition) (a C(/dev/disk/by-uuid/...) link is followed for a partition, never for a file).
    type: path
    required: true
  type:
    description:
      - What the device is.
    type: str
    choices: [zram, file, partition]
    required: true
  state:
    description:
      - V(present) - active at its priority; V(absent) - swapped off, its C(/etc/fstab) line and (zram) udev rule
        removed, a zram device reset. A swap file is left on disk when absent.
    type: str
    choices: [present, absent]
    default: present
  priority:
    description:
      - The swap priority, 0..32767 (C(swapon -p)). Higher is used first. A device swapped on without one gets an
        automatic priority of -2 or lower, which the kernel counts in the lowest tier.
      - Exactly one of O(priority) and O(tier) with O(state=present).
    type: int
  tier:
    description:
      - A swap tier's name - the device is given the lowest priority of the tier's range that C(swapon) can set
        (its start, or 0 for the tier starting at -1). Several devices of one tier share that priority, and the
        kernel spreads pages across them; give O(priority) to order devices inside a tier.
      - Resolved in O(tiers) when given, else in the kernel's C(/sys/kernel/mm/swap/tiers); fails when neither
        has the tier.
    type: str
  tiers:
    description:
      - The tier table to resolve O(tier) in, as M(policygroups.core.swap_tiers) takes it (the fleet document's
        C(policy_swap_tiers)). Use it when the kernel's table is about to change (check mode) or on a kernel
        without swap tiers, to put devices at the priorities the tiers will have.
    type: list
    elements: dict
    suboptions:
      name:
        description: Tier name.
        type: str
        required: true
      start_priority:
        description: Lowest priority in the tier.
        type: int
        required: true
  size:
    description:
      - O(type=zram) (required) - the device's uncompressed size. O(type=file) - the size of a file to create (an
        existing file is not resized; a different size is a warning).
      - Bytes, or with a binary suffix K, M, G or T (V(512M), V(2G)).
    type: str
  algorithm:
    description:
      - O(type=zram) - the compression algorithm (V(zstd), V(lz4), V(lzo-rle), ...; the kernel's
        C(/sys/block/zramN/comp_algorithm) lists them). Default - keep the device's, which is the kernel's default
        for a new one.
    type: str
  persistent:
    description:
      - Also make the device come back at boot at its priority (C(/etc/fstab), and for zram the udev rule and
        module files). V(false) manages only the running state and neither reads nor writes C(/etc).
    type: bool
    default: true
requirements:
  - Linux, and Python 3.9 or newer with its standard library only, on the managed host
  - C(swapon), C(swapoff) and C(mkswap) (util-linux); C(modprobe) (kmod) to load the zram module
notes:
  - Run it after M(policygroups.core.swap_tiers) when tiers are added (a device swapped on before its tier exists
    is in the tier below, and splitting a range at or below an active device's priority is refused by the
    kernel), and before it when a tier is removed (move the tier's devices out first). The
    C(policygroups.core.policy_groups) role applies tiers, then
    O(policygroups.core.policy_groups#role:main:policy_groups_swap_devices), then groups.
  - A swap file on btrfs needs C(chattr +C) before it is allocated; C(swapon) refuses the file otherwise and the
    module reports that refusal.
  - A zram module built into the kernel ignores C(/etc/modprobe.d); there, devices above C(zram0) need
    C(zram.num_devices=) on the kernel command line.
seealso:
  - module: policygroups.core.swap_tiers
  - module: policygroups.core.policy_groups
"""

EXAMPLES = r"""
---
- name: 2 GiB of zram in the fast tier, compressed with zstd
  policygroups.core.swap_device:
    path: /dev/zram0
    type: zram
    size: 2G
    algorithm: zstd
    tier: fast

- name: Debian's swap partition (its fstab line has no pri=) in the slow tier, at priority 10
  policygroups.core.swap_device:
    path: /dev/disk/by-uuid/8d0cbc3a-3f4e-4b43-9a4d-7d7e0e1b2c3d
    type: partition
    priority: 10

- name: A 4 GiB swap file, placed by the tier table about to be installed
  policygroups.core.swap_device:
    path: /var/swap/swapfile
    type: file
    size: 4G
    tier: slow
    tiers: "{{ policy_swap_tiers }}"

- name: No more swap file
  policygroups.core.swap_device:
    path: /var/swap/swapfile
    type: file
    state: absent
"""

RETURN = r"""
changes:
  description:
    - The operations, in order (in check mode, those a run would make). C(op) is one of C(load_module),
      C(add_zram), C(swapoff), C(reset_zram), C(configure_zram), C(mkswap), C(create_file), C(chown), C(chmod), C(swapon),
      C(write_fstab), C(write_file), C(remove_file).
  returned: always
  type: list
  elements: dict
  sample:
    - {op: swapoff, path: /dev/vda5, before: -2, after: null}
    - {op: swapon, path: /dev/vda5, before: null, after: 10}
    - {op: write_fstab, path: /dev/vda5, before: ["UUID=8d0c... none swap sw 0 0"],
       after: ["UUID=8d0c... none swap sw,pri=10 0 0"]}
diff:
  description:
    - The device before and after - whether it exists and is active, its priority and tier, its size, (zram) its
      algorithm, (file) its mode, and with O(persistent=true) its C(/etc/fstab) lines and (zram) the content of
      each file that sets it up at boot.
  returned: always
  type: dict
  sample:
    before: {path: /dev/vda5, type: partition, exists: true, active: true, priority: -2, tier: slow, size: null,
             fstab: ["UUID=8d0c... none swap sw 0 0"]}
    after: {path: /dev/vda5, type: partition, exists: true, active: true, priority: 10, tier: slow, size: null,
            fstab: ["UUID=8d0c... none swap sw,pri=10 0 0"]}
device:
  description:
    - The device after the run (in check mode, as it would be), as in RV(diff).
  returned: success
  type: dict
  sample: {path: /dev/zram0, type: zram, exists: true, active: true, priority: 100, tier: fast, size: 2G,
           algorithm: zstd}
applied:
  description:
    - On failure while applying, the operations done before the failing one.
  returned: failure
  type: list
  elements: dict
  sample: [{op: swapoff, path: /dev/zram0, before: 100, after: null}]
verify_remaining:
  description:
    - With O(verify=true), the changes still planned after applying (same form as RV(changes)); the run failed
      because of them.
  returned: failure of the verification
  type: list
  elements: dict
  sample: [{op: swapon, path: /dev/zram0, before: null, after: 100}]
failed_operation:
  description:
    - On failure while applying, the operation that failed.
  returned: failure
  type: dict
  sample: {op: swapon, path: /dev/zram0, before: null, after: 100}
"""

from typing import Any, Sequence

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PolicyGroupsError
from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO
from ansible_collections.policygroups.core.plugins.module_utils._engine._lock import DEFAULT_LOCK_PATH, HostLock
from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import TIER_ARGS
from ansible_collections.policygroups.core.plugins.module_utils._module._selinux import selinux_labeller
from ansible_collections.policygroups.core.plugins.module_utils._swap._swapdev import STATES, TYPES, run
from ansible_collections.policygroups.core.plugins.module_utils._swap._swaphost import Runner, SwapHost

ARGS: dict[str, dict[str, Any]] = {
    "path": {"type": "path", "required": True},
    "type": {"type": "str", "required": True, "choices": list(TYPES)},
    "state": {"type": "str", "default": "present", "choices": list(STATES)},
    "priority": {"type": "int"},
    "tier": {"type": "str"},
    "tiers": {"type": "list", "elements": "dict", "options": TIER_ARGS},
    "size": {"type": "str"},
    "algorithm": {"type": "str"},
    "persistent": {"type": "bool", "default": True},
    "lock_timeout": {"type": "float", "default": 60.0},
    "verify": {"type": "bool", "default": False},
}


def command_runner(module: Any) -> Runner:
    """Commands through the module's ``run_command``, each found in PATH or the sbin directories."""

    def runner(argv: Sequence[str]) -> tuple[int, str, str]:
        binary = module.get_bin_path(argv[0], opt_dirs=["/sbin", "/usr/sbin"])
        if not binary:
            return 127, "", f"{argv[0]} is not installed"
        rc, out, err = module.run_command([binary, *argv[1:]])
        return int(rc), str(out), str(err)

    return runner


def make_host(module: Any) -> SwapHost:
    """The host the module works on (tests replace this)."""
    return SwapHost(HostIO("/", selinux_labeller(module)), command_runner(module))


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGS,
        mutually_exclusive=[["priority", "tier"]],
        supports_check_mode=True,
    )
    params = module.params
    try:
        host = make_host(module)
        with HostLock(DEFAULT_LOCK_PATH, timeout=params["lock_timeout"], shared=module.check_mode):
            result = run(host, params, module.check_mode)
            remaining = run(host, params, True).changes if params["verify"] and not module.check_mode \
                and result.error is None else []
    except PolicyGroupsError as exc:
        module.fail_json(msg=str(exc), changed=False, changes=[], applied=[])
        return
    for warning in result.warnings:
        module.warn(warning)
    out: dict[str, Any] = {"changed": result.changed, "changes": result.changes, "diff": result.diff}
    if result.error is not None:
        module.fail_json(msg=result.error, applied=result.applied, failed_operation=result.failed_operation, **out)
        return
    if remaining:
        module.fail_json(msg=f"after applying, the device still differs from what was asked: {len(remaining)} "
                         f"change(s) are still planned ({', '.join(str(c['op']) for c in remaining)})",
                         verify_remaining=remaining, device=result.device, **out)
        return
    module.exit_json(device=result.device, **out)


if __name__ == "__main__":
    main()
