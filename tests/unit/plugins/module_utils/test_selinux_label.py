"""Files the engine writes whole get the SELinux context of their final path before they are renamed into place,
through ansible-core's own helpers (what ``AnsibleModule.atomic_move`` gives a file), while the write itself keeps
not following links. The module here is a stand-in recording the calls; ansible-core's helpers are its own."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ansible_collections.policygroups.core.plugins.module_utils._engine._io import HostIO, replace_nofollow
from ansible_collections.policygroups.core.plugins.module_utils._engine._modcommon import selinux_labeller
from ansible_collections.policygroups.core.plugins.module_utils._systemd._dropins import Dropin, DropinStore


class SelinuxModule:
    """The three AnsibleModule methods the labeller uses, recording what they were asked."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.calls: list[tuple[Any, ...]] = []

    def selinux_enabled(self) -> bool:
        return self.enabled

    def selinux_default_context(self, path: str) -> list[str]:
        self.calls.append(("default", path))
        return ["system_u", "object_r", "systemd_unit_file_t", "s0"]

    def set_context_if_different(self, path: str, context: list[str], changed: bool) -> bool:
        self.calls.append(("set", path, os.path.exists(path), context[2], changed))
        return True


def test_no_labeller_without_selinux() -> None:
    assert selinux_labeller(SelinuxModule(enabled=False)) is None


def test_the_temporary_file_gets_the_final_paths_context_before_the_rename(tmp_path: Path) -> None:
    module = SelinuxModule(enabled=True)
    label = selinux_labeller(module)
    seen: list[tuple[str, str, bool]] = []

    def spy(tmp: str, final: str) -> None:
        seen.append((tmp, final, os.path.exists(tmp_path / final.lstrip("/"))))
        assert label is not None
        label(tmp, final)

    replace_nofollow(str(tmp_path), "/etc/x/y.conf", b"data\n", 0o644, label=spy)
    [(tmp, final, final_existed)] = seen
    assert final == "/etc/x/y.conf" and not final_existed
    assert os.path.dirname(tmp) == str(tmp_path / "etc" / "x") and not os.path.exists(tmp)
    assert module.calls == [("default", "/etc/x/y.conf"), ("set", tmp, True, "systemd_unit_file_t", False)]
    assert (tmp_path / "etc" / "x" / "y.conf").read_bytes() == b"data\n"


def test_a_drop_in_is_labelled_through_the_hosts_io(tmp_path: Path) -> None:
    module = SelinuxModule(enabled=True)
    store = DropinStore(HostIO(str(tmp_path), selinux_labeller(module)))
    store.write(Dropin("x.service", "g", "# policygroups.core group=g\n[Service]\nOOMScoreAdjust=1\n"))
    [default, setcon] = module.calls
    assert default[0] == "default" and default[1].startswith("/etc/systemd/system/x.service.d/")
    assert setcon[0] == "set" and setcon[2] is True
