"""Files the engine writes whole get an SELinux context before they are renamed into place, as
``AnsibleModule.atomic_move`` gives one (the replaced file's, else the policy default for the path), through
ansible-core's libselinux binding, while the write itself keeps not following links. libselinux is replaced here by
a recording stand-in (no SELinux host here); the module's ``selinux_enabled`` decides whether a labeller exists."""

from __future__ import annotations

import errno
import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO, replace_nofollow
from ansible_collections.policygroups.core.plugins.module_utils._module._selinux import selinux_labeller
from ansible_collections.policygroups.core.plugins.module_utils._systemd._dropins import Dropin, DropinStore


class Module:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def selinux_enabled(self) -> bool:
        return self.enabled


class FakeSelinux(types.ModuleType):
    """lgetfilecon_raw, matchpathcon and lsetfilecon as ansible.module_utils.compat.selinux has them."""

    def __init__(self, fail_set: bool = False) -> None:
        super().__init__("ansible.module_utils.compat.selinux")
        self.calls: list[tuple[Any, ...]] = []
        self.fail_set = fail_set

    def lgetfilecon_raw(self, path: str) -> list[Any]:
        self.calls.append(("get", os.path.exists(path)))
        if not os.path.lexists(path):
            raise OSError(errno.ENOENT, "no such file")
        return [0, "system_u:object_r:etc_t:s0"]

    def matchpathcon(self, path: str, mode: int) -> list[Any]:
        self.calls.append(("match", path, mode))
        return [0, "system_u:object_r:systemd_unit_file_t:s0"]

    def lsetfilecon(self, path: str, context: str) -> list[Any]:
        self.calls.append(("set", os.path.exists(path), os.path.islink(path), context))
        if self.fail_set:
            raise OSError(errno.EACCES, "permission denied")
        return [0]


@pytest.fixture
def fake_selinux(monkeypatch: pytest.MonkeyPatch) -> FakeSelinux:
    fake = FakeSelinux()
    monkeypatch.setitem(sys.modules, "ansible.module_utils.compat.selinux", fake)
    from ansible.module_utils import compat
    monkeypatch.setattr(compat, "selinux", fake, raising=False)
    return fake


def test_no_labeller_without_selinux() -> None:
    assert selinux_labeller(Module(enabled=False)) is None


def test_a_new_file_gets_the_policy_default_for_its_path(tmp_path: Path, fake_selinux: FakeSelinux) -> None:
    replace_nofollow(str(tmp_path), "/etc/x/y.conf", b"data\n", 0o644, label=selinux_labeller(Module(True)))
    assert fake_selinux.calls == [("get", False), ("match", str(tmp_path / "etc/x/y.conf"), 0),
                                  ("set", True, False, "system_u:object_r:systemd_unit_file_t:s0")]
    assert (tmp_path / "etc" / "x" / "y.conf").read_bytes() == b"data\n"


def test_a_replaced_file_keeps_its_context(tmp_path: Path, fake_selinux: FakeSelinux) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "fstab").write_text("old\n")
    replace_nofollow(str(tmp_path), "/etc/fstab", b"new\n", 0o644, label=selinux_labeller(Module(True)))
    assert fake_selinux.calls == [("get", True), ("set", True, False, "system_u:object_r:etc_t:s0")]
    assert (tmp_path / "etc" / "fstab").read_text() == "new\n"


def test_a_labelling_failure_is_a_failed_write_that_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeSelinux(fail_set=True)
    monkeypatch.setitem(sys.modules, "ansible.module_utils.compat.selinux", fake)
    from ansible.module_utils import compat
    monkeypatch.setattr(compat, "selinux", fake, raising=False)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "fstab").write_text("old\n")
    with pytest.raises(OSError) as failed:
        replace_nofollow(str(tmp_path), "/etc/fstab", b"new\n", 0o644, label=selinux_labeller(Module(True)))
    assert failed.value.errno == errno.EACCES
    assert sorted(p.name for p in (tmp_path / "etc").iterdir()) == ["fstab"]
    assert (tmp_path / "etc" / "fstab").read_text() == "old\n"


def test_a_drop_in_is_labelled_through_the_hosts_io(tmp_path: Path, fake_selinux: FakeSelinux) -> None:
    store = DropinStore(HostIO(str(tmp_path), selinux_labeller(Module(True))))
    store.write(Dropin("x.service", "g", "# policygroups.core group=g\n[Service]\nOOMScoreAdjust=1\n"))
    assert [c[0] for c in fake_selinux.calls] == ["get", "match", "set"]
    assert fake_selinux.calls[1][1].startswith(str(tmp_path / "etc/systemd/system/x.service.d/"))
