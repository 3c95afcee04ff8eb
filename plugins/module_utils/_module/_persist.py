# Copyright: contributors to policygroups.core
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Persist a host's policy for the boot-time restore, inside the module run that applied it: the restore (one
runnable zip), the persisted document and the restore unit, each written only when its bytes differ, atomically
(a temporary file in the same directory, renamed into place); the unit enabled when it changed or is not enabled;
then what was written flushed to disk. Each file comes with the SHA-256 of the bytes it must have; its bytes may be
left out when the caller believes the host has them (``digests`` tells it, ``missing_content`` says when it was
wrong). Takes the AnsibleModule as a parameter; imports nothing from Ansible."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field
from typing import Any

FILE_MODE = 0o644
DIR_MODE = 0o755


class PersistError(Exception):
    """A persisted file could not be written; nothing after it was."""


@dataclass(frozen=True)
class PersistFile:
    what: str  # restore, policy or unit
    path: str  # as on the host (without the host_root prefix)
    sha256: str  # hex digest of the bytes the file must have
    content: bytes | None  # those bytes; None when the caller sent only the digest


@dataclass
class PersistSpec:
    files: list[PersistFile]
    unit_name: str
    wanted_by: str
    legacy: list[str] = field(default_factory=list)  # paths of earlier versions' restore layout, removed on change
    prefix: str = ""  # host_root other than /: files are re-rooted and systemd is not asked


def _refuse_link(path: str, target: str) -> None:
    """Refuse a persisted file, or a directory one is written into, that is a symbolic link: the role never writes
    through one, so a link planted where a persisted file goes cannot redirect a write as root elsewhere. (The
    system's own directories above, such as /usr/local/lib, are the system's business.)"""
    if os.path.islink(target):
        raise PersistError(f"refusing to write {path}: {target} is a symbolic link")


def _attributes_wrong(target: str) -> bool:
    """Whether an existing file is not root's (when we are root) with mode 0644: a persisted policy others can
    write would be applied as root at the next boot."""
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        return False
    wrong_owner = os.geteuid() == 0 and (st.st_uid, st.st_gid) != (0, 0)
    return stat.S_IMODE(st.st_mode) != FILE_MODE or wrong_owner


def _set_attributes(target: str) -> None:
    """Mode 0644, owned by root when we are root (the target was checked not to be a symbolic link)."""
    os.chmod(target, FILE_MODE)
    if os.geteuid() == 0:
        os.chown(target, 0, 0, follow_symlinks=False)


def _read(path: str) -> bytes | None:
    try:
        # O_NONBLOCK: a FIFO planted there must not block the open (a regular file ignores the flag)
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except FileNotFoundError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # before fdopen, which refuses a directory with its own error
            raise PersistError(f"{path} exists and is not a regular file")
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def sha256(content: bytes | None) -> str | None:
    return None if content is None else hashlib.sha256(content).hexdigest()


def _current(path: str) -> bytes | None:
    """The file's bytes for a digest: None when absent, or not a regular file we would read (persist refuses it)."""
    try:
        return _read(path)
    except (OSError, PersistError):
        return None


def digests(spec: PersistSpec) -> dict[str, str | None]:
    """The SHA-256 of each persisted file as the host has it now (None: absent or not a file we would read), by
    path: what the caller caches to know which bytes it need not send next time."""
    prefix = spec.prefix.rstrip("/")
    return {item.path: sha256(_current(prefix + item.path)) for item in spec.files}


def missing_content(spec: PersistSpec, current: dict[str, str | None]) -> list[str]:
    """The files (their ``what``) whose bytes the host lacks and the caller did not send."""
    return [item.what for item in spec.files if item.content is None and current.get(item.path) != item.sha256]


def _owned_by_root(fd: int) -> None:
    if os.geteuid() == 0:
        os.fchown(fd, 0, 0)


def _write(module: Any, path: str, content: bytes) -> None:
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".policygroups-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            os.fchmod(handle.fileno(), FILE_MODE)
            _owned_by_root(handle.fileno())
        module.atomic_move(tmp, path, keep_dest_attrs=False)  # not the replaced file's owner and mode
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _systemctl(module: Any, *argv: str) -> None:
    systemctl = module.get_bin_path("systemctl", required=True)
    rc, _out, err = module.run_command([systemctl, *argv])
    if rc != 0:
        raise PersistError(f"systemctl {' '.join(argv)} failed (rc={rc}): {err.strip()}")


def persist(module: Any, spec: PersistSpec, unit_enabled: bool | None,
            current: dict[str, str | None] | None = None) -> dict[str, Any]:
    """Bring the persisted files and the restore unit to ``spec``; in check mode only say what would change.
    ``unit_enabled`` is what the probe read (None: not asked); ``current`` the files' digests the probe took in
    this run (``digests``) under the host lock the caller holds until this step is done, so no other run wrote
    them in between: a file whose digest there is already the one it must have is not read again (a change by
    hand in between is seen by the next run). Returns
    the result's ``persist`` entry:
    ``changed``, ``files`` (what, path, changed), ``directories`` made, ``enabled`` (the unit was or would be
    enabled by this run), ``removed`` (legacy paths), ``flushed`` (paths given to sync). Raises PersistError."""
    check = bool(module.check_mode)
    prefix = spec.prefix.rstrip("/")
    out: dict[str, Any] = {"changed": False, "files": [], "directories": [], "enabled": False, "removed": [],
                           "flushed": []}
    written: list[str] = []
    for path in dict.fromkeys(os.path.dirname(f.path) for f in spec.files):
        target = prefix + path
        _refuse_link(path, target)
        if not os.path.isdir(target):
            out["directories"].append(path)
            if not check:
                os.makedirs(target, mode=DIR_MODE)
                os.chmod(target, DIR_MODE)
    for item in spec.files:
        target = prefix + item.path
        _refuse_link(item.path, target)  # its directory was checked above
        if current is not None and current.get(item.path) == item.sha256:
            before, content_changed = None, False
        else:
            before = _read(target)
            content_changed = sha256(before) != item.sha256
        if content_changed and item.content is None:
            raise PersistError(f"{item.path} differs from what it must be and its content was not sent")
        attributes = not content_changed and _attributes_wrong(target)
        changed = content_changed or attributes
        out["files"].append({"what": item.what, "path": item.path, "changed": changed})
        if attributes and not check:
            _set_attributes(target)
        if content_changed and item.content is not None and item.what != "restore":  # text: what --diff shows
            out.setdefault("diff", []).append({
                "before_header": item.path, "after_header": item.path,
                "before": (before or b"").decode("utf-8", "replace"), "after": item.content.decode("utf-8", "replace")})
        if content_changed and item.content is not None and not check:
            _write(module, target, item.content)
            _set_attributes(target)  # atomic_move gives a file it creates the mode of the umask
            written.append(target)
    files_changed = any(f["changed"] for f in out["files"])
    unit_changed = any(f["changed"] for f in out["files"] if f["what"] == "unit")
    if files_changed:
        for path in spec.legacy:
            target = prefix + path
            if os.path.lexists(target):
                out["removed"].append(path)
                if not check:
                    if os.path.isdir(target) and not os.path.islink(target):
                        shutil.rmtree(target)
                    else:
                        os.unlink(target)
    wants = ""
    if not prefix and (unit_changed or not unit_enabled):
        out["enabled"] = not unit_enabled
        if not check:
            # `systemctl enable` reloads systemd itself: an explicit reload only for a unit enabled already (each
            # reload re-reads every unit, seconds under emulation)
            if unit_changed and unit_enabled:
                _systemctl(module, "daemon-reload")
            if not unit_enabled:
                _systemctl(module, "enable", "--", spec.unit_name)
                wants = f"/etc/systemd/system/{spec.wanted_by}.wants"
    # Renames and links need their directories flushed as well (coreutils sync fsyncs each path it names): the
    # files, the directories they were renamed into, the parents of directories made, the .wants/ directory.
    made = [prefix + d for d in out["directories"]]
    named = [*written, *map(os.path.dirname, written), *map(os.path.dirname, made), wants]
    flushed = list(dict.fromkeys(p for p in named if p))
    if flushed and not check:
        sync = module.get_bin_path("sync", required=True)
        rc, _out, err = module.run_command([sync, "--", *flushed])
        if rc != 0:
            raise PersistError(f"sync of the persisted files failed (rc={rc}): {err.strip()}")
        out["flushed"] = flushed
    out["changed"] = files_changed or bool(out["directories"]) or out["enabled"] or bool(out["removed"])
    return out
