# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the policy_kernel role reads of a host before it changes anything (policygroups.core.policy_kernel_info).

Only reads: the virtual machine (systemd-detect-virt) and the firmware's DMI vendor, whether GRUB boots the host
and then the root file system's UUID (GRUB's menu entry ids contain it), the running kernel's release and whether
it has the policy controller and its build id, what `systemctl is-enabled` says of the units asked about, and the digest, mode and
owner of the files the role installs (so that a converged host needs no module run per file). Runs on managed
hosts: standard library only, Python 3.9."""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence, TypeVar

PROC_CGROUPS = "/proc/cgroups"
MOUNTINFO = "/proc/self/mountinfo"
KERNEL_NOTES = "/sys/kernel/notes"
NT_GNU_BUILD_ID = 3
T = TypeVar("T")

# run(argv) -> (exit status, standard output, standard error); an error starting the command is exit status -1
Runner = Callable[[list[str]], "tuple[int, str, str]"]


class KernelHostError(Exception):
    """The host could not be read; the message says what and why."""


@dataclass(frozen=True)
class KernelHost:
    virt: str  # systemd-detect-virt --vm: qemu, kvm, none, ...; '' where it is not installed
    vendor: str  # the firmware's DMI vendor (QEMU, ...); '' where the host has none
    bootloader: str  # grub or none
    root_uuid: Optional[str]  # with GRUB only; '' where it could not be read
    root_uuid_error: Optional[str]  # why not
    release: str
    policy_controller: bool
    unit_states: Optional[dict[str, Optional[str]]] = None  # asked units: is-enabled's answer, None: no systemctl
    unit_active: Optional[dict[str, Optional[str]]] = None  # asked units: is-active's answer, None: no systemctl
    files: Optional[dict[str, Optional[dict[str, object]]]] = None  # asked files: file_digest()
    contents: Optional[dict[str, Optional[str]]] = None  # asked files: read_small_text()
    root_source: Optional[str] = None  # with GRUB only: the device mounted on / ('' where unknown)
    not_regular: dict[str, str] = field(default_factory=dict)  # asked files and grub.cfg: kind_of_non_regular()
    running_build_id: str = ""  # the running kernel's GNU build id, hex; '' where it cannot be read

    def as_result(self) -> dict[str, object]:
        result: dict[str, object] = {"virt": self.virt, "vendor": self.vendor, "bootloader": self.bootloader,
                                     "release": self.release, "policy_controller": self.policy_controller}
        if self.unit_states is not None:
            result["unit_states"] = self.unit_states
        if self.unit_active is not None:
            result["unit_active"] = self.unit_active
        if self.files is not None:
            result["files"] = self.files
        if self.contents is not None:
            result["contents"] = self.contents
        result["not_regular"] = self.not_regular
        result["running_build_id"] = self.running_build_id
        if self.root_uuid is not None:
            result["root_uuid"] = self.root_uuid
        if self.root_uuid_error is not None:
            result["root_uuid_error"] = self.root_uuid_error
        if self.root_source is not None:
            result["root_source"] = self.root_source
        return result


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def build_id(notes: bytes) -> str:
    """The GNU build id (hex) among ``notes``, ELF notes as the kernel lists its own in /sys/kernel/notes (native
    byte order, name and descriptor each padded to 4 bytes); '' where there is none or the list is cut short."""
    offset = 0
    while offset + 12 <= len(notes):
        namesz, descsz, kind = (int.from_bytes(notes[offset + i:offset + i + 4], sys.byteorder) for i in (0, 4, 8))
        name_at = offset + 12
        desc_at = name_at + namesz + (-namesz % 4)
        end = desc_at + descsz + (-descsz % 4)
        if end > len(notes):
            return ""
        if kind == NT_GNU_BUILD_ID and notes[name_at:name_at + namesz] == b"GNU\0":
            return notes[desc_at:desc_at + descsz].hex()
        offset = end
    return ""


def running_build_id(path: str = KERNEL_NOTES) -> str:
    """The running kernel's build id from ``path`` (build_id()); '' where it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return build_id(handle.read(1 << 16))
    except OSError:
        return ""


def has_policy_controller(proc_cgroups: str) -> bool:
    """Whether the running kernel lists the policy controller in ``proc_cgroups`` (/proc/cgroups)."""
    try:
        with open(proc_cgroups, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError as err:
        raise KernelHostError(f"cannot read {proc_cgroups}: {err.strerror}") from err
    return any(line.split()[0] == "policy" for line in lines if line.strip() and not line.startswith("#"))


def _read_regular(path: str, consume: Callable[[int], T]) -> Optional[tuple[os.stat_result, T]]:
    """The status of the regular file at ``path`` and what ``consume`` read of it (given the open descriptor); None
    where there is no such file, it is not a regular one (a symbolic link in the last component is not followed, a
    FIFO is not waited on) or it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        return (info, consume(fd)) if stat.S_ISREG(info.st_mode) else None
    except OSError:
        return None
    finally:
        os.close(fd)


def _sha256(fd: int) -> str:
    digest = hashlib.sha256()
    while chunk := os.read(fd, 1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: str) -> Optional[dict[str, object]]:
    """``{sha256, mode, uid, gid}`` of the regular file at ``path`` (mode as four octal digits, as Ansible's file
    modules take it); None where there is none or it cannot be read (_read_regular). A symbolic link counts as no
    file: what a role compares with it is then installed as before, by the module that installs it."""
    found = _read_regular(path, _sha256)
    if found is None:
        return None
    info, digest = found
    return {"sha256": digest, "mode": f"{stat.S_IMODE(info.st_mode):04o}", "uid": info.st_uid, "gid": info.st_gid}


# What read_small_text() returns at most: GRUB's menu is tens of KiB on a host with many kernels.
TEXT_LIMIT = 1 << 20


def _head(fd: int) -> bytes:
    """At most TEXT_LIMIT + 1 bytes: one more than read_small_text() returns, to tell a larger file."""
    data = b""
    while len(data) <= TEXT_LIMIT and (chunk := os.read(fd, TEXT_LIMIT + 1 - len(data))):
        data += chunk
    return data


def root_source(mountinfo: str) -> str:
    """The source (device) of the file system mounted on / as ``mountinfo`` (/proc/self/mountinfo) lists it, the
    mount on top where several are; '' where it cannot be read or lists none."""
    try:
        with open(mountinfo, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return ""
    found = ""
    for line in lines:
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if sep and len(fields) >= 5 and fields[4] == "/" and len(rest) >= 2:
            found = rest[1]  # fstype, source, super options
    return found


def kind_of_non_regular(path: str) -> Optional[str]:
    """What is at ``path`` where it is there but no regular file: "symbolic link" (dangling or not, never followed),
    "directory" or "special file"; None for a regular file, for nothing, and where it cannot be examined."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "directory" if stat.S_ISDIR(mode) else "special file"


def read_small_text(path: str) -> Optional[str]:
    """The text of the regular file at ``path`` (UTF-8, undecodable bytes replaced), or None where there is none, it
    cannot be read (_read_regular), or it is larger than TEXT_LIMIT."""
    found = _read_regular(path, _head)
    if found is None or len(found[1]) > TEXT_LIMIT:
        return None
    return found[1].decode("utf-8", errors="replace")


def unit_state(run: Runner, systemctl: Optional[str], unit: str, question: str = "is-enabled") -> Optional[str]:
    """What ``systemctl is-enabled`` (or ``question``, is-active) answers for ``unit`` (enabled, disabled, not-found,
    ...; '' where it prints nothing, as older systemd releases do for a unit file that is not there), None where there
    is no systemctl to ask. One unit per call: as such a release prints nothing for a missing unit, the answers of several
    units in one call could not be told apart."""
    if systemctl is None:
        return None
    lines = run([systemctl, question, "--", unit])[1].splitlines()
    return lines[0].strip() if lines else ""


def read_kernel_host(run: Runner, *, detect_virt: Optional[str], dmi_dir: str, update_grub: str, grub_config: str,
                     findmnt: Optional[str], findmnt_missing: str = "findmnt is not installed",
                     proc_cgroups: Optional[str] = None, mountinfo: str = MOUNTINFO,
                     systemctl: Optional[str] = None,
                     units: Sequence[str] = (), files: Sequence[str] = (),
                     read_files: Sequence[str] = (), kernel_notes: str = KERNEL_NOTES) -> KernelHost:
    """Read the host. ``detect_virt``, ``findmnt`` and ``systemctl`` are the resolved commands (None: not usable,
    and then ``findmnt_missing`` says why for findmnt). A root file system's UUID that cannot be read is no error
    here: only installing a kernel for GRUB needs it (the role checks), a rollback does not. ``units``: the units
    whose state to read (unit_states, unit_active; not read when empty); ``files``: the files whose digest, mode and
    owner to read (files; not read when empty); ``read_files``: the small text files to return (contents). Of those,
    and of GRUB's configuration on a GRUB host, the ones there as no regular file are named (not_regular).
    ``kernel_notes``: where the running kernel lists its ELF notes, its build id among them (running_build_id)."""
    virt = ""
    if detect_virt is not None:
        # prints "none" and exits 1 on bare metal: the answer is the output, whatever the status
        virt = run([detect_virt, "--vm"])[1].strip()
    vendor = _read_text(os.path.join(dmi_dir, "sys_vendor"))
    root_uuid = None
    error = None
    source = None
    # grub.cfg there as anything (a link or a directory too): a GRUB host, whose odd menu not_regular names
    grub = os.path.isfile(update_grub) and os.access(update_grub, os.X_OK) and os.path.lexists(grub_config)
    if grub:
        root_uuid, why = "", findmnt_missing
        if findmnt is not None:
            rc, out, err = run([findmnt, "--noheadings", "--output", "UUID", "--target", "/"])
            root_uuid = out.strip() if rc == 0 else ""
            why = err.strip() or (f"exit status {rc}" if rc else "it has none")
        source = root_source(mountinfo)  # what GRUB passes as root= where no PARTUUID serves (LVM, RAID)
        if not root_uuid:
            error = f"findmnt could not tell the root file system's UUID, which GRUB's menu entry ids contain ({why})"
    return KernelHost(virt=virt, vendor=vendor, bootloader="grub" if grub else "none", root_uuid=root_uuid,
                      root_uuid_error=error, root_source=source, release=os.uname().release,
                      policy_controller=has_policy_controller(proc_cgroups or PROC_CGROUPS),
                      unit_states={u: unit_state(run, systemctl, u) for u in units} if units else None,
                      unit_active={u: unit_state(run, systemctl, u, "is-active") for u in units} if units else None,
                      files={path: file_digest(path) for path in files} if files else None,
                      contents={path: read_small_text(path) for path in read_files} if read_files else None,
                      not_regular=_not_regular([*files, *read_files, *([grub_config] if grub else [])]),
                      running_build_id=running_build_id(kernel_notes))


def _not_regular(paths: Sequence[str]) -> dict[str, str]:
    """Those of ``paths`` that are there as no regular file, with what they are (kind_of_non_regular)."""
    found: dict[str, str] = {}
    for path in dict.fromkeys(paths):
        kind = kind_of_non_regular(path)
        if kind is not None:
            found[path] = kind
    return found
