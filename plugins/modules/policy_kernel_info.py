#!/usr/bin/python
# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: policy_kernel_info
short_description: Read what installing a kernel and booting it depends on, in one run
version_added: 0.4.0
description:
  - Reads, and changes nothing - whether the host is a virtual machine (C(systemd-detect-virt --vm)) and its
    firmware's DMI vendor, whether GRUB boots it (C(update-grub) and GRUB's configuration) and then the root file
    system's UUID (C(findmnt); GRUB's menu entry ids contain it), the running kernel's release, whether that kernel
    has the policy controller (C(/proc/cgroups)), the state of the units and the digest of the files asked about,
    and whether the task runs in check mode.
  - The C(policygroups.core.policy_kernel) role runs it once before it changes anything, and again only after its
    own reboot.
  - RV(check_mode) is the task's own mode, also where a play, a block or an include set C(check_mode), which the
    C(ansible_check_mode) variable does not show.
author:
  - Policy groups contributors (@policygroups)
extends_documentation_fragment:
  - policygroups.core._common.info
  - policygroups.core._common.attributes
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: The module only reads the host; it runs the same in check mode and says so in RV(check_mode).
requirements:
  - Linux, and Python 3.9 or newer with its standard library only, on the managed host
  - C(findmnt) (util-linux) on a host that GRUB boots
options:
  detect_virt:
    description:
      - The C(systemd-detect-virt) command, by name (looked up in the C(PATH) and the C(sbin) directories) or by
        path. Where it is not installed, RV(virt) is empty.
    type: str
    default: systemd-detect-virt
  dmi_dir:
    description:
      - The directory of the firmware's DMI identification; RV(vendor) is its C(sys_vendor), empty where it has none.
    type: path
    default: /sys/class/dmi/id
  update_grub:
    description:
      - GRUB's C(update-grub). The host counts as booted by GRUB where this is an executable file and
        O(grub_config) exists, as anything (see RV(not_regular)).
    type: path
    default: /usr/sbin/update-grub
  grub_config:
    description:
      - GRUB's configuration, which C(update-grub) writes.
    type: path
    default: /boot/grub/grub.cfg
  findmnt:
    description:
      - The C(findmnt) command, by name or by path, that tells the root file system's UUID on a host that GRUB
        boots. Where it is missing or cannot tell the UUID, RV(root_uuid) is empty and RV(root_uuid_error) says
        why; the module does not fail.
    type: str
    default: findmnt
  mountinfo:
    description:
      - The mount table of the module's process (C(/proc/self/mountinfo)), where RV(root_source) is read on a host
        that GRUB boots.
    type: path
    default: /proc/self/mountinfo
  units:
    description:
      - Units whose state to read with C(systemctl is-enabled) and C(systemctl is-active), one call per unit and
        question (RV(unit_states), RV(unit_active)). The C(policygroups.core.policy_kernel) role asks about the unit
        that mounts the policy hierarchy - installing or changing it needs an explicit C(systemctl daemon-reload) only
        where it is enabled already, as C(systemctl enable) reloads systemd itself, and a unit enabled and active
        whose file stayed as it was needs no module run at all.
    type: list
    elements: str
    default: []
  files:
    description:
      - Files whose SHA-256 digest, mode and owner to read (RV(files)). The C(policygroups.core.policy_kernel) role
        asks about the files it installs (the kernel image and its configuration, GRUB's settings, the mount unit),
        and leaves out the module runs that would install a file the host already has as wanted.
    type: list
    elements: path
    default: []
  read_files:
    description:
      - Small text files to return (RV(contents)), up to 1 MiB each. The C(policygroups.core.policy_kernel) role
        reads GRUB's menu and the policy ABI version here, and reads them again only where it changed them since.
    type: list
    elements: path
    default: []
  systemctl:
    description:
      - The C(systemctl) command, by name or by path, that O(units) are asked about. Where it is missing, every
        state in RV(unit_states) is V(null).
    type: str
    default: systemctl
  kernel_notes:
    description:
      - Where the running kernel lists its ELF notes, among them the build id the linker gave it (RV(running_build_id)).
    type: path
    default: /sys/kernel/notes
notes:
  - The options other than the defaults are for hosts that keep these tools elsewhere, and for tests.
seealso:
  - module: policygroups.core.policy_groups_info
"""

EXAMPLES = r"""
---
- name: Read the host before installing a kernel
  policygroups.core.policy_kernel_info:
  register: kernel_host

- name: Say what a reboot into the new kernel would need
  ansible.builtin.debug:
    msg: >-
      {{ kernel_host.release }} runs; bootloader {{ kernel_host.bootloader }};
      policy controller {{ 'present' if kernel_host.policy_controller else 'absent' }}
"""

RETURN = r"""
virt:
  description:
    - What C(systemd-detect-virt --vm) printed (V(qemu), V(kvm), V(none) on bare metal, ...); empty where it is not
      installed or cannot run.
  returned: success
  type: str
  sample: qemu
vendor:
  description:
    - The firmware's DMI vendor; empty where the host has none.
  returned: success
  type: str
  sample: QEMU
bootloader:
  description:
    - V(grub) where O(update_grub) is an executable file and O(grub_config) exists (as anything, a symbolic link or a
      directory too), else V(none).
  returned: success
  type: str
  sample: grub
root_uuid:
  description:
    - The root file system's UUID.
  returned: when RV(bootloader) is V(grub)
  type: str
  sample: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
root_source:
  description:
    - On a host that GRUB boots, the source of the file system mounted on C(/) (the device GRUB passes as C(root=)
      where it cannot use a C(PARTUUID), such as an LVM volume or a RAID array); empty where it cannot be read.
  returned: when RV(bootloader) is V(grub)
  type: str
  sample: /dev/mapper/vg-root
root_uuid_error:
  description:
    - Why RV(root_uuid) is empty.
  returned: when RV(bootloader) is V(grub) and the UUID could not be read
  type: str
  sample: "findmnt could not tell the root file system's UUID, which GRUB's menu entry ids contain (exit status 1)"
release:
  description:
    - The running kernel's release (C(uname -r)).
  returned: success
  type: str
  sample: 6.12.118-policy
running_build_id:
  description:
    - The running kernel's GNU build id in hex, from O(kernel_notes); empty where it cannot be read. Every build of
      one source version has the same release, so the C(policygroups.core.policy_kernel) role tells a new build of
      the running release from the running one by this id against the one C(kernel/build.sh) records.
  returned: success
  type: str
  sample: 5d7e0a61c2b1f3e4d5c6b7a8091a2b3c4d5e6f70
policy_controller:
  description:
    - Whether the running kernel has the policy controller (a C(policy) line in C(/proc/cgroups)).
  returned: success
  type: bool
  sample: true
unit_states:
  description:
    - For each unit of O(units), what C(systemctl is-enabled) printed (V(enabled), V(disabled), V(static),
      V(not-found), ...; older systemd releases print nothing, an empty string here, for a unit file that is not
      there), V(null) where there is no C(systemctl) to ask.
  returned: when O(units) is not empty
  type: dict
  sample: {"policygroups-hierarchy.service": "enabled"}
files:
  description:
    - For each file of O(files), its C(sha256) digest, C(mode) (four octal digits), C(uid) and C(gid); V(null) where
      it is missing, is not a regular file (a symbolic link is not followed) or cannot be read.
  returned: when O(files) is not empty
  type: dict
  sample: {"/boot/config-6.12.118-policy": {"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
           "mode": "0644", "uid": 0, "gid": 0}, "/boot/vmlinuz-6.12.118-policy": null}
contents:
  description:
    - For each file of O(read_files), its text (UTF-8, undecodable bytes replaced); V(null) where it is missing, is
      not a regular file (a symbolic link is not followed), cannot be read or is larger than 1 MiB.
  returned: when O(read_files) is not empty
  type: dict
  sample: {"/sys/fs/cgroup/policy/policy.abi_version": "1\n"}
not_regular:
  description:
    - Each path of O(files) and O(read_files), and O(grub_config) on a host that GRUB boots, that is there but is no
      regular file, with what it is - V(symbolic link) (dangling or not; never followed), V(directory) or
      V(special file). RV(files) and RV(contents) say V(null) for these as for a missing file; the
      C(policygroups.core.policy_kernel) role refuses them before it installs over them or reads a menu there.
    - O(grub_config) there as anything, not only as a regular file, makes the host one that GRUB boots, so that such
      a menu is named here rather than the host taken for one without GRUB.
  returned: success
  type: dict
  sample: {"/boot/grub/grub.cfg": "symbolic link"}
unit_active:
  description:
    - For each unit of O(units), what C(systemctl is-active) printed (V(active), V(inactive), V(failed), ...), V(null)
      where there is no C(systemctl) to ask.
  returned: when O(units) is not empty
  type: dict
  sample: {"policygroups-hierarchy.service": "active"}
check_mode:
  description:
    - Whether this task ran in check mode.
  returned: success
  type: bool
  sample: false
"""

import os
from typing import Optional

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.policygroups.core.plugins.module_utils._module._kernel_host import KernelHostError, read_kernel_host


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "detect_virt": {"type": "str", "default": "systemd-detect-virt"},
            "dmi_dir": {"type": "path", "default": "/sys/class/dmi/id"},
            "update_grub": {"type": "path", "default": "/usr/sbin/update-grub"},
            "grub_config": {"type": "path", "default": "/boot/grub/grub.cfg"},
            "findmnt": {"type": "str", "default": "findmnt"},
            "mountinfo": {"type": "path", "default": "/proc/self/mountinfo"},
            "units": {"type": "list", "elements": "str", "default": []},
            "files": {"type": "list", "elements": "path", "default": []},
            "read_files": {"type": "list", "elements": "path", "default": []},
            "systemctl": {"type": "str", "default": "systemctl"},
            "kernel_notes": {"type": "path", "default": "/sys/kernel/notes"},
        },
        supports_check_mode=True,
    )

    def command(name: str) -> Optional[str]:  # None: not installed, or not executable
        if "/" in name:
            return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
        found: Optional[str] = module.get_bin_path(name)
        return found

    def run(argv: list[str]) -> tuple[int, str, str]:
        try:
            rc, out, err = module.run_command(argv, environ_update={"LC_ALL": "C"}, handle_exceptions=False)
        except OSError as error:  # a broken tool says nothing, as a missing one
            return -1, "", f"{argv[0]}: {error.strerror}"
        return rc, out, err

    params = module.params
    findmnt = command(params["findmnt"])
    try:
        host = read_kernel_host(run, detect_virt=command(params["detect_virt"]), dmi_dir=params["dmi_dir"],
                                update_grub=params["update_grub"], grub_config=params["grub_config"],
                                findmnt=findmnt, mountinfo=params["mountinfo"],
                                findmnt_missing=f"{params['findmnt']} is not installed or not executable",
                                systemctl=command(params["systemctl"]), units=params["units"],
                                files=params["files"], read_files=params["read_files"],
                                kernel_notes=params["kernel_notes"])
    except KernelHostError as err:
        module.fail_json(msg=str(err))
    module.exit_json(changed=False, check_mode=module.check_mode, **host.as_result())


if __name__ == "__main__":
    main()
