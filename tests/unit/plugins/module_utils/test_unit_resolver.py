"""The modules' unit resolver: one ``systemctl show`` per unit, read with the shared rule (``_unit_cgroup``)."""

from __future__ import annotations

from typing import Any, Sequence

import pytest

from ansible_collections.policygroups.core.plugins.module_utils._engine._errors import PlanError
from ansible_collections.policygroups.core.plugins.module_utils._module._modcommon import systemd_resolver


class FakeModule:
    """``get_bin_path`` and ``run_command`` of an AnsibleModule, answering ``systemctl show`` from a table."""

    def __init__(self, units: dict[str, str], rc: int = 0, systemctl: str | None = "/usr/bin/systemctl") -> None:
        self.units = units
        self.rc = rc
        self.systemctl = systemctl
        self.calls: list[list[str]] = []

    def get_bin_path(self, name: str) -> str | None:
        return self.systemctl

    def run_command(self, argv: Sequence[str]) -> tuple[int, str, str]:
        self.calls.append(list(argv))
        return self.rc, self.units.get(argv[-1], ""), "Failed to connect to bus" if self.rc else ""


INACTIVE_INSTANCE = "LoadState=loaded\nActiveState=inactive\nControlGroup=\nSlice=system-report.slice\n"
RUNNING = "LoadState=loaded\nActiveState=active\nControlGroup=/system.slice/nginx.service\nSlice=system.slice\n"
NOT_FOUND = "LoadState=not-found\nActiveState=inactive\nControlGroup=\nSlice=\n"


@pytest.mark.parametrize(("unit", "path"), [
    ("report@1.service", "/system.slice/system-report.slice/report@1.service"),
    ("nginx.service", "/system.slice/nginx.service"),
    ("typo.service", None),
])
def test_resolves_running_and_future_cgroups(unit: str, path: str | None) -> None:
    module: Any = FakeModule({"report@1.service": INACTIVE_INSTANCE, "nginx.service": RUNNING,
                              "typo.service": NOT_FOUND})
    assert systemd_resolver(module)(unit) == path
    assert module.calls == [["/usr/bin/systemctl", "show", "--property=LoadState", "--property=ActiveState",
                             "--property=ControlGroup", "--property=Slice", "--", unit]]


def test_systemctl_failure_is_an_error_not_a_guess() -> None:
    with pytest.raises(PlanError, match="systemctl show x.service failed \\(rc=1\\): Failed to connect to bus"):
        systemd_resolver(FakeModule({}, rc=1))("x.service")
    with pytest.raises(PlanError, match="systemctl is not installed"):
        systemd_resolver(FakeModule({}, systemctl=None))("x.service")
