"""host_root is a test seam: it re-roots files, so it is refused with the systemd backend (whose systemctl would act
on the live host), and backend=auto under another root probes only policyfs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._module import _modcommon
from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend
from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PolicyGroupsError


def params(root: Path | str, backend: str) -> dict[str, Any]:
    return {"backend": backend, "host_root": str(root), "policy_root": "/sys/fs/cgroup/policy"}


def test_systemd_backend_with_another_host_root_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PolicyGroupsError, match=r"host_root.*systemd"):
        _modcommon.backend_from(params(tmp_path, "systemd"))


def test_auto_under_another_host_root_never_picks_systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Even where the systemd backend would probe as available, a re-rooted host is only ever policyfs.
    from ansible_collections.policygroups.core.plugins.module_utils._systemd import _backend_systemd

    monkeypatch.setattr(_backend_systemd.SystemdBackend, "probe",
                        lambda self: pytest.fail("the systemd backend was probed under another host_root"))
    assert isinstance(_modcommon.backend_from(params(tmp_path, "auto")), PolicyfsBackend)


def test_systemd_backend_on_the_real_root_is_accepted() -> None:
    from ansible_collections.policygroups.core.plugins.module_utils._systemd._backend_systemd import SystemdBackend

    assert isinstance(_modcommon.backend_from(params("/", "systemd")), SystemdBackend)
