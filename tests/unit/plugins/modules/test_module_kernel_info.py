"""policy_kernel_info: what the policy_kernel role reads of a host, in one module run, also in check mode.

The module runs in-process with its commands and files pointed at fakes in a temporary directory (the release and
/proc/cgroups are this machine's)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.policygroups.core.plugins.module_utils._module import _kernel_host
from ansible_collections.policygroups.core.plugins.modules import policy_kernel_info

UUID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return str(path)


def run(args: dict[str, Any], capsys: pytest.CaptureFixture[str], check_mode: bool = False) -> dict[str, Any]:
    with patch_module_args({**args, "_ansible_check_mode": check_mode}), pytest.raises(SystemExit):
        policy_kernel_info.main()
    result: dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


@pytest.fixture
def host(tmp_path: Path) -> dict[str, Any]:
    """A QEMU guest that GRUB boots: systemd-detect-virt says qemu, the DMI vendor is QEMU, findmnt knows the UUID
    (and checks how it is asked)."""
    (tmp_path / "dmi").mkdir()
    (tmp_path / "dmi" / "sys_vendor").write_text("QEMU\n")
    (tmp_path / "grub.cfg").write_text("")
    return {"detect_virt": script(tmp_path / "detect-virt", '[ "$1" = --vm ] && echo qemu'),
            "dmi_dir": str(tmp_path / "dmi"),
            "update_grub": script(tmp_path / "update-grub", "exit 0"),
            "grub_config": str(tmp_path / "grub.cfg"),
            # asked so, and in the C locale
            "findmnt": script(tmp_path / "findmnt",
                              f'[ "$*" = "--noheadings --output UUID --target /" ] && [ "$LC_ALL" = C ] && echo {UUID}')}


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_grub_guest_in_one_run(host: dict[str, Any], capsys: pytest.CaptureFixture[str], check_mode: bool) -> None:
    result = run(host, capsys, check_mode)
    assert not result.get("failed") and not result["changed"], result
    assert result["check_mode"] is check_mode
    assert (result["virt"], result["vendor"], result["bootloader"], result["root_uuid"]) == ("qemu", "QEMU", "grub", UUID)
    assert result["release"] == os.uname().release and "root_uuid_error" not in result


@pytest.mark.parametrize("listed", [True, False])
def test_the_policy_controller_comes_from_proc_cgroups(host: dict[str, Any], tmp_path: Path, listed: bool,
                                                       capsys: pytest.CaptureFixture[str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cgroups = tmp_path / "cgroups"
    cgroups.write_text("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\n"
                       + ("policy\t2\t3\t1\n" if listed else ""))
    monkeypatch.setattr(_kernel_host, "PROC_CGROUPS", str(cgroups))
    assert run(host, capsys)["policy_controller"] is listed


def test_an_unreadable_proc_cgroups_fails_and_says_so(host: dict[str, Any], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_kernel_host, "PROC_CGROUPS", str(tmp_path / "missing"))
    result = run(host, capsys)
    assert result["failed"] and result["msg"] == f"cannot read {tmp_path / 'missing'}: No such file or directory"


def test_bare_metal_without_grub(host: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # systemd-detect-virt prints none and exits 1 on bare metal; no grub.cfg: no bootloader, and findmnt is not asked
    host["detect_virt"] = script(tmp_path / "detect-virt", "echo none; exit 1")
    host["findmnt"] = script(tmp_path / "findmnt", "exit 1")
    (tmp_path / "grub.cfg").unlink()
    result = run(host, capsys)
    assert not result.get("failed"), result
    assert (result["virt"], result["bootloader"]) == ("none", "none") and "root_uuid" not in result


@pytest.mark.parametrize("detect_virt", ["by-path", "by-name", "broken"])
def test_missing_tools_and_dmi_give_empty_answers(host: dict[str, Any], tmp_path: Path, detect_virt: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken-tool"
    broken.write_bytes(b"\x7fELF not really")  # executable, but the kernel cannot run it (ENOEXEC)
    broken.chmod(0o755)
    tool = {"by-path": str(tmp_path / "no-such-tool"), "by-name": "no-such-tool-anywhere", "broken": str(broken)}
    host.update(detect_virt=tool[detect_virt], dmi_dir=str(tmp_path / "no-dmi"),
                update_grub=str(tmp_path / "no-update-grub"))
    result = run(host, capsys)
    assert not result.get("failed"), result
    assert (result["virt"], result["vendor"], result["bootloader"]) == ("", "", "none")


def test_update_grub_that_is_not_executable_is_no_grub(host: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    Path(host["update_grub"]).chmod(0o644)
    assert run(host, capsys)["bootloader"] == "none"


WHY = "findmnt could not tell the root file system's UUID, which GRUB's menu entry ids contain ({})"


@pytest.mark.parametrize(("body", "why"), [("echo 'findmnt: boom' >&2; exit 1", "findmnt: boom"),
                                           ("exit 3", "exit status 3"), ("exit 0", "it has none")])
def test_a_root_uuid_that_cannot_be_read_is_empty_and_says_why(host: dict[str, Any], tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str], body: str,
                                                               why: str) -> None:
    # no failure: only installing for GRUB needs the UUID (the role refuses then), a rollback does not
    host["findmnt"] = script(tmp_path / "findmnt", body)
    result = run(host, capsys)
    assert not result.get("failed"), result
    assert (result["bootloader"], result["root_uuid"], result["root_uuid_error"]) == ("grub", "", WHY.format(why))


@pytest.mark.parametrize("findmnt", ["missing", "not-executable"])
def test_grub_without_a_usable_findmnt(host: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                       findmnt: str) -> None:
    path = tmp_path / "no-findmnt"
    if findmnt == "not-executable":
        path.write_text("#!/bin/sh\necho uuid\n")
    host["findmnt"] = str(path)
    result = run(host, capsys)
    assert not result.get("failed") and result["root_uuid"] == "", result
    assert result["root_uuid_error"] == WHY.format(f"{path} is not installed or not executable")


def test_the_policy_controller_line_of_proc_cgroups(tmp_path: Path) -> None:
    cgroups = tmp_path / "cgroups"
    cgroups.write_text("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\npolicy\t2\t3\t1\n")
    assert _kernel_host.has_policy_controller(str(cgroups))
    cgroups.write_text("#subsys_name\thierarchy\tnum_cgroups\tenabled\ncpu\t0\t1\t1\npolicyx\t2\t3\t1\n\n")
    assert not _kernel_host.has_policy_controller(str(cgroups))
    with pytest.raises(_kernel_host.KernelHostError, match=r"^cannot read .*/missing: No such file or directory$"):
        _kernel_host.has_policy_controller(str(tmp_path / "missing"))


def test_unit_states_are_read_only_when_asked(host: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert "unit_states" not in run(host, capsys)


@pytest.mark.parametrize("check_mode", [False, True])
def test_unit_states_come_from_systemctl_is_enabled(host: dict[str, Any], tmp_path: Path, check_mode: bool,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    # one unit per call (older systemd releases print nothing on stdout for a missing unit file, so several units in
    # one call could not be told apart); such a unit is "", not a failure
    asked = tmp_path / "asked"
    host["systemctl"] = script(tmp_path / "systemctl", f"""echo "$*" >>{asked}
[ "$2" = "--" ] || exit 64
case $1:$3 in
  is-enabled:on.service) echo enabled ;;
  is-enabled:off.service) echo disabled; exit 1 ;;
  is-enabled:*) echo "Failed to get unit file state for $3: No such file or directory" >&2; exit 1 ;;
  is-active:on.service) echo active ;;
  is-active:*) echo inactive; exit 3 ;;
  *) exit 64 ;;
esac""")
    units = ["on.service", "off.service", "new.service"]
    result = run({**host, "units": units}, capsys, check_mode)
    assert not result.get("failed") and not result["changed"], result
    assert result["unit_states"] == {"on.service": "enabled", "off.service": "disabled", "new.service": ""}
    assert result["unit_active"] == {"on.service": "active", "off.service": "inactive", "new.service": "inactive"}
    assert asked.read_text().splitlines() == ([f"is-enabled -- {unit}" for unit in units]
                                              + [f"is-active -- {unit}" for unit in units])


@pytest.mark.parametrize("systemctl", ["by-path", "by-name"])
def test_unit_states_without_systemctl_are_unknown(host: dict[str, Any], tmp_path: Path, systemctl: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    # no systemctl to ask: the state is null (unknown), so that a caller does not take it for "not enabled"
    host["systemctl"] = {"by-path": str(tmp_path / "no-systemctl"), "by-name": "no-such-systemctl-anywhere"}[systemctl]
    result = run({**host, "units": ["on.service"]}, capsys)
    assert not result.get("failed"), result
    assert result["unit_states"] == {"on.service": None} and result["unit_active"] == {"on.service": None}


def test_files_are_read_only_when_asked(host: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert "files" not in run(host, capsys)


@pytest.mark.parametrize("check_mode", [False, True])
def test_files_digest_mode_and_owner(host: dict[str, Any], tmp_path: Path, check_mode: bool,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    # what the role compares with the controller's digest of a file it would install: a regular file's digest, mode
    # and owner; no file, or no regular file (a symbolic link is not followed, a FIFO is not opened for long), is null
    regular, private = tmp_path / "vmlinuz", tmp_path / "config"
    regular.write_bytes(b"kernel image\n" * 100_000)  # more than one read
    regular.chmod(0o644)
    private.write_text("CONFIG_CGROUP_POLICY=y\n")
    private.chmod(0o600)
    (tmp_path / "link").symlink_to(regular)
    os.mkfifo(tmp_path / "fifo")
    paths = [str(tmp_path / name) for name in ("vmlinuz", "config", "link", "fifo", "missing")]
    paths.append(str(tmp_path))  # a directory
    result = run({**host, "files": paths}, capsys, check_mode)
    assert not result.get("failed") and not result["changed"], result
    owner = {"uid": os.getuid(), "gid": os.getgid()}
    assert result["files"] == {
        paths[0]: {"sha256": hashlib.sha256(regular.read_bytes()).hexdigest(), "mode": "0644", **owner},
        paths[1]: {"sha256": hashlib.sha256(b"CONFIG_CGROUP_POLICY=y\n").hexdigest(), "mode": "0600", **owner},
        paths[2]: None, paths[3]: None, paths[4]: None, paths[5]: None}


def test_read_files_returns_small_texts_only(host: dict[str, Any], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    # GRUB's menu and the ABI version, read in the probe so that a converged host needs no other module run for them
    monkeypatch.setattr(_kernel_host, "TEXT_LIMIT", 64)
    (tmp_path / "abi").write_text("1\n")
    (tmp_path / "menu").write_bytes(b"menuentry \xff\n")
    (tmp_path / "big").write_text("x" * 65)
    (tmp_path / "limit").write_text("y" * 64)
    (tmp_path / "link").symlink_to(tmp_path / "abi")
    os.mkfifo(tmp_path / "fifo")
    names = ["abi", "menu", "big", "limit", "link", "fifo", "missing"]
    result = run({**host, "read_files": [str(tmp_path / name) for name in names]}, capsys)
    assert not result.get("failed") and not result["changed"], result
    assert result["contents"] == {str(tmp_path / "abi"): "1\n", str(tmp_path / "menu"): "menuentry \ufffd\n",
                                  str(tmp_path / "big"): None, str(tmp_path / "limit"): "y" * 64,
                                  str(tmp_path / "link"): None, str(tmp_path / "fifo"): None,
                                  str(tmp_path / "missing"): None}
    assert "contents" not in run(host, capsys)


@pytest.mark.parametrize("check_mode", [False, True])
def test_what_is_no_regular_file_is_named(host: dict[str, Any], tmp_path: Path, check_mode: bool,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    # files and read_files say null for a missing file and for a symbolic link, a directory or a FIFO alike; the role
    # refuses the latter before it installs over them or reads a menu there, so not_regular tells them apart
    (tmp_path / "image").write_text("kernel image\n")
    (tmp_path / "link").symlink_to(tmp_path / "image")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "dir").mkdir()
    os.mkfifo(tmp_path / "fifo")
    files = [str(tmp_path / name) for name in ("image", "link", "dir", "missing")]
    read_files = [str(tmp_path / name) for name in ("fifo", "dangling", "image")]
    result = run({**host, "files": files, "read_files": read_files}, capsys, check_mode)
    assert not result.get("failed") and not result["changed"], result
    assert result["not_regular"] == {str(tmp_path / "link"): "symbolic link", str(tmp_path / "dir"): "directory",
                                     str(tmp_path / "fifo"): "special file",
                                     str(tmp_path / "dangling"): "symbolic link"}
    assert run(host, capsys)["not_regular"] == {}


@pytest.mark.parametrize("kind", ["symbolic link", "directory"])
def test_a_grub_config_that_is_no_regular_file_is_grub_and_named(host: dict[str, Any], tmp_path: Path, kind: str,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    # update-grub is there and grub.cfg is a link or a directory: GRUB boots this host (the role then refuses it by
    # name), rather than a host without GRUB, whose menu the role would never check
    menu = tmp_path / "grub.cfg"
    menu.unlink()
    if kind == "directory":
        menu.mkdir()
    else:
        (tmp_path / "elsewhere.cfg").write_text("")
        menu.symlink_to(tmp_path / "elsewhere.cfg")
    result = run(host, capsys)
    assert result["bootloader"] == "grub", result
    assert result["not_regular"] == {str(menu): kind}


MOUNTINFO = """22 1 0:21 / /proc rw,nosuid - proc proc rw
25 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
31 25 0:27 / /run rw - tmpfs tmpfs rw
40 25 253:0 / / rw,relatime shared:9 - ext4 {source} rw
"""


@pytest.mark.parametrize("source", ["/dev/mapper/vg-root", "/dev/vda2"])
def test_the_root_file_systems_source_on_a_grub_host(host: dict[str, Any], tmp_path: Path, source: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # what GRUB passes as root= where it cannot use a PARTUUID (an LVM volume, a RAID array): the source of the
    # mount on / that is on top (the last in mountinfo)
    (tmp_path / "mountinfo").write_text(MOUNTINFO.format(source=source))
    result = run({**host, "mountinfo": str(tmp_path / "mountinfo")}, capsys)
    assert result["root_source"] == source, result
    result = run({**host, "mountinfo": str(tmp_path / "missing")}, capsys)
    assert result["root_source"] == "", result
    (tmp_path / "grub.cfg").unlink()
    assert "root_source" not in run({**host, "mountinfo": str(tmp_path / "mountinfo")}, capsys)


def elf_note(name: bytes, kind: int, desc: bytes) -> bytes:
    """One ELF note as /sys/kernel/notes lists them: sizes and type, then name and descriptor, each padded to 4."""
    def pad(data: bytes) -> bytes:
        return data + b"\0" * (-len(data) % 4)
    return len(name).to_bytes(4, "little") + len(desc).to_bytes(4, "little") + kind.to_bytes(4, "little") \
        + pad(name) + pad(desc)


BUILD_ID = bytes.fromhex("5d7e0a61c2b1f3e4d5c6b7a8091a2b3c4d5e6f70")


@pytest.mark.parametrize(("notes", "expected"), [
    # Xen's and Linux's own notes before the GNU build id, as in a real kernel's list
    (elf_note(b"Xen\0", 5, b"xen-3.0\0") + elf_note(b"Linux\0", 6, b"6.12.118-policy\0")
     + elf_note(b"GNU\0", 3, BUILD_ID), BUILD_ID.hex()),
    (elf_note(b"GNU\0", 3, BUILD_ID), BUILD_ID.hex()),
    (elf_note(b"GNU\0", 4, b"property"), ""),  # a GNU note of another type
    (elf_note(b"GNUX\0", 3, BUILD_ID), ""),  # another vendor's type 3
    (b"", ""),
    (elf_note(b"GNU\0", 3, BUILD_ID)[:20], ""),  # cut short
    (b"\xff\xff\xff\xff" + b"\0" * 8, ""),  # a size past the end
    (None, ""),  # no such file (a kernel without sysfs)
])
def test_the_running_kernels_build_id_comes_from_its_notes(host: dict[str, Any], tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str], notes: bytes | None,
                                                           expected: str) -> None:
    # a new build of the running release (every build of a source version has the same release) is told from the
    # running one by the build id the linker gave vmlinux, which the kernel lists in /sys/kernel/notes
    path = tmp_path / "notes"
    if notes is not None:
        path.write_bytes(notes)
    result = run({**host, "kernel_notes": str(path)}, capsys)
    assert not result.get("failed"), result
    assert result["running_build_id"] == expected, result
