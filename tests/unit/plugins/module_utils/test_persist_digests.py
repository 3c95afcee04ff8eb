"""The persist step's digests: what the host has is read without following links, a file whose bytes were not
sent is reported missing when (and only when) the host's copy differs from its digest, and the step itself never
treats a file it was not sent as written. (The role's behaviour around it, one run with digests and a second
with the bytes, is tests/unit/roles/test_restore_reinstall.py.)"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._module._persist import (
    PersistError,
    PersistFile,
    PersistSpec,
    digests,
    missing_content,
    persist,
)

POLICY = "/etc/policygroups/policy.json"
UNIT = "/etc/systemd/system/policygroups-restore.service"


class Module:
    """What persist() uses of an AnsibleModule, writing under a re-rooted host (no systemctl is asked)."""

    def __init__(self, check_mode: bool = False) -> None:
        self.check_mode = check_mode

    def atomic_move(self, src: str, dest: str, keep_dest_attrs: bool = True) -> None:
        del keep_dest_attrs
        os.replace(src, dest)

    def get_bin_path(self, name: str, required: bool = False) -> str | None:
        del required
        return shutil.which(name)

    def run_command(self, argv: list[str]) -> tuple[int, str, str]:
        del argv
        return 0, "", ""


def entry(what: str, path: str, content: bytes, send: bool = True) -> PersistFile:
    return PersistFile(what, path, hashlib.sha256(content).hexdigest(), content if send else None)


def spec(root: Path, *files: PersistFile) -> PersistSpec:
    return PersistSpec(files=list(files), unit_name="policygroups-restore.service", wanted_by="sysinit.target",
                       prefix=str(root))


def test_digests_of_absent_present_and_linked_files(tmp_path: Path) -> None:
    (tmp_path / "etc/policygroups").mkdir(parents=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    (tmp_path / POLICY.lstrip("/")).write_bytes(b"{}\n")
    (tmp_path / "elsewhere").write_bytes(b"[Unit]\n")
    (tmp_path / UNIT.lstrip("/")).symlink_to(tmp_path / "elsewhere")
    found = digests(spec(tmp_path, entry("policy", POLICY, b"x"), entry("unit", UNIT, b"[Unit]\n"),
                         entry("restore", "/usr/local/lib/policygroups/r.pyz", b"PK")))
    assert found == {POLICY: hashlib.sha256(b"{}\n").hexdigest(), UNIT: None,  # a link is not read through
                     "/usr/local/lib/policygroups/r.pyz": None}


def test_missing_content_only_where_the_host_differs(tmp_path: Path) -> None:
    (tmp_path / "etc/policygroups").mkdir(parents=True)
    (tmp_path / POLICY.lstrip("/")).write_bytes(b"{}\n")
    same = spec(tmp_path, entry("policy", POLICY, b"{}\n", send=False))
    assert missing_content(same, digests(same)) == []
    other = spec(tmp_path, entry("policy", POLICY, b'{"format": 1}\n', send=False))
    assert missing_content(other, digests(other)) == ["policy"]
    sent = spec(tmp_path, entry("policy", POLICY, b'{"format": 1}\n'))
    assert missing_content(sent, digests(sent)) == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_persist_refuses_a_differing_file_it_was_not_sent(tmp_path: Path, check_mode: bool) -> None:
    (tmp_path / "etc/policygroups").mkdir(parents=True)
    (tmp_path / POLICY.lstrip("/")).write_bytes(b"{}\n")
    with pytest.raises(PersistError, match="content was not sent"):
        persist(Module(check_mode), spec(tmp_path, entry("policy", POLICY, b"[]\n", send=False)), None)
    assert (tmp_path / POLICY.lstrip("/")).read_bytes() == b"{}\n"


def test_persist_compares_digests_and_writes_what_it_was_sent(tmp_path: Path) -> None:
    (tmp_path / "etc/policygroups").mkdir(parents=True)
    (tmp_path / POLICY.lstrip("/")).write_bytes(b"{}\n")
    os.chmod(tmp_path / POLICY.lstrip("/"), 0o644)
    unchanged: dict[str, Any] = persist(Module(), spec(tmp_path, entry("policy", POLICY, b"{}\n", send=False)), None)
    assert unchanged["files"] == [{"what": "policy", "path": POLICY, "changed": False}]
    written = persist(Module(), spec(tmp_path, entry("policy", POLICY, b"[]\n")), None)
    assert written["files"][0]["changed"] and (tmp_path / POLICY.lstrip("/")).read_bytes() == b"[]\n"


def test_persist_reads_no_file_the_probe_found_unchanged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Given the digests the probe took in the same run (``current``), a file that has its bytes is not read again
    (its mode is still checked); one that differs is read, for the diff and to refuse what is not a regular file."""
    from ansible_collections.policygroups.core.plugins.module_utils._module import _persist

    (tmp_path / "etc/policygroups").mkdir(parents=True)
    (tmp_path / "etc/systemd/system").mkdir(parents=True)
    (tmp_path / POLICY.lstrip("/")).write_bytes(b"{}\n")
    os.chmod(tmp_path / POLICY.lstrip("/"), 0o600)
    (tmp_path / UNIT.lstrip("/")).mkdir()  # a directory where the unit goes
    files = spec(tmp_path, entry("policy", POLICY, b"{}\n", send=False), entry("unit", UNIT, b"[Unit]\n"))
    current = digests(files)
    reads: list[str] = []
    real_read = _persist._read

    def counting_read(path: str) -> bytes | None:
        reads.append(path)
        return real_read(path)

    monkeypatch.setattr(_persist, "_read", counting_read)
    with pytest.raises(PersistError, match="not a regular file"):
        persist(Module(), files, None, current=current)
    assert reads == [str(tmp_path) + UNIT]
    os.rmdir(tmp_path / UNIT.lstrip("/"))
    os.chmod(tmp_path / POLICY.lstrip("/"), 0o600)  # the refused run had set it before it reached the unit
    now = digests(files)
    reads.clear()
    done = persist(Module(), files, None, current=now)
    assert done["files"] == [{"what": "policy", "path": POLICY, "changed": True},  # mode 0600 -> 0644
                             {"what": "unit", "path": UNIT, "changed": True}]
    assert reads == [str(tmp_path) + UNIT]
    assert oct(os.stat(tmp_path / POLICY.lstrip("/")).st_mode & 0o777) == "0o644"
    assert (tmp_path / UNIT.lstrip("/")).read_bytes() == b"[Unit]\n"


def test_a_fifo_in_place_of_a_persisted_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    (tmp_path / "etc/policygroups").mkdir(parents=True)
    os.mkfifo(tmp_path / POLICY.lstrip("/"))
    files = spec(tmp_path, entry("policy", POLICY, b"{}\n"))
    assert digests(files) == {POLICY: None}
    with pytest.raises(PersistError, match="not a regular file"):
        persist(Module(), files, None)
