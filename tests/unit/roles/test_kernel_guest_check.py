"""The kernel role refuses to make the QEMU-only reference kernel the boot default outside a QEMU guest.

guest_check.yml runs alone on this machine (ansible_connection: local), so it reads the host itself through
probe.yml, with the two answers it needs pointed at fakes (the role's
vars __policy_kernel_detect_virt_command and __policy_kernel_dmi_dir), so each case decides on known answers, not on what this
machine happens to be.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

ACCEPTED = """    - name: Reached only when the host is accepted
      ansible.builtin.debug:
        msg: accepted
"""


def run(tmp_path: Path, virt: str | None, vendor: str | None, set_default: bool = True) -> str:
    detect = tmp_path / "detect-virt"
    if virt is None:
        detect = tmp_path / "no-such-command"
    else:
        detect.write_text("#!/bin/sh\necho %s\n[ %s != none ]\n" % (virt, virt))
        detect.chmod(0o755)
    dmi = tmp_path / "dmi"
    dmi.mkdir()
    if vendor is not None:
        (dmi / "sys_vendor").write_text(vendor + "\n")
    variables = {"__policy_kernel_detect_virt_command": str(detect), "__policy_kernel_dmi_dir": str(dmi),
                 "__policy_kernel_update_grub": str(tmp_path / "no-update-grub"),
                 "policy_kernel_set_default": set_default}
    result = sim.run_role_tasks(tmp_path, "policygroups.core.policy_kernel", "guest_check", variables,
                                title="The kernel role's guest check", after=ACCEPTED)
    return f"rc={result.returncode}\n{result.stdout}"


@pytest.mark.parametrize(("virt", "vendor"), [
    ("qemu", None),            # QEMU without KVM, no DMI
    ("kvm", "QEMU"),           # QEMU with KVM acceleration
    (None, "QEMU"),            # no systemd-detect-virt
], ids=["qemu-tcg", "qemu-kvm", "dmi-only"])
def test_qemu_guest_is_accepted(tmp_path: Path, virt: str | None, vendor: str | None) -> None:
    out = run(tmp_path, virt, vendor)
    assert out.startswith("rc=0") and '"msg": "accepted"' in out, out
    # guest_check.yml run alone reads the host through probe.yml: both answers in one module run
    assert out.count("TASK [policygroups.core.policy_kernel : Read the host (virtual machine") == 1, out


@pytest.mark.parametrize(("virt", "vendor"), [
    ("none", "Dell Inc."),     # bare metal
    ("kvm", "Google"),         # another KVM hypervisor
    ("microsoft", None),
    (None, None),              # nothing to go by
], ids=["bare-metal", "other-kvm", "hyper-v", "unknown"])
def test_other_hosts_are_refused_before_any_change(tmp_path: Path, virt: str | None, vendor: str | None) -> None:
    out = run(tmp_path, virt, vendor)
    assert out.startswith("rc=2") and "this host is not a QEMU guest" in out, out
    assert "set policy_kernel_set_default: false" in out and '"msg": "accepted"' not in out


def test_without_set_default_any_host_is_accepted(tmp_path: Path) -> None:
    out = run(tmp_path, "none", "Dell Inc.", set_default=False)
    assert out.startswith("rc=0") and '"msg": "accepted"' in out, out


@pytest.mark.parametrize(("source", "refused"), [("/dev/mapper/vg-root", True), ("/dev/md0", True),
                                                 ("/dev/dm-0", True), ("/dev/vda1", False)])
@pytest.mark.parametrize("set_default", [True, False])
def test_a_root_the_guest_kernel_cannot_mount_is_refused_before_any_change(
        tmp_path: Path, source: str, refused: bool, set_default: bool) -> None:
    # GRUB passes an LVM volume or a RAID array as root=<device>, which only an initramfs assembles; the guest
    # flavour has none. Refused before the image, the drop-in or the menu change (as the default entry, the next
    # reboot by anyone would not come up; as another entry, the menu check failed after the change).
    for name, text in {"update-grub": "#!/bin/sh\n", "findmnt": "#!/bin/sh\necho 0f1e2d3c-uuid\n",
                       "detect-virt": "#!/bin/sh\necho qemu\n"}.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    (tmp_path / "grub.cfg").write_text("")
    (tmp_path / "mountinfo").write_text(f"25 1 254:1 / / rw,relatime shared:1 - ext4 {source} rw\n")
    variables = {"__policy_kernel_detect_virt_command": str(tmp_path / "detect-virt"),
                 "__policy_kernel_dmi_dir": str(tmp_path),
                 "__policy_kernel_update_grub": str(tmp_path / "update-grub"),
                 "__policy_kernel_grub_config": str(tmp_path / "grub.cfg"),
                 "__policy_kernel_findmnt_command": str(tmp_path / "findmnt"),
                 "__policy_kernel_mountinfo": str(tmp_path / "mountinfo"),
                 "policy_kernel_set_default": set_default, "policy_kernel_release": "6.12.118-policy"}
    result = sim.run_role_tasks(tmp_path, "policygroups.core.policy_kernel", "guest_check", variables,
                                title="The guest check", after=ACCEPTED)
    if refused:
        assert result.returncode == 2, result.stdout[-3000:]
        assert f"the root file system is {source}" in result.stdout and "Nothing was changed" in result.stdout
    else:
        assert result.returncode == 0 and '"msg": "accepted"' in result.stdout, result.stdout[-3000:]
