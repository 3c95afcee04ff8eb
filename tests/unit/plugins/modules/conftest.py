"""Run a module's main() in-process against the simulated kernel and return its JSON result."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fakekernel import FakeKernel, HostSpec  # noqa: E402

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._module import _modcommon  # noqa: E402
from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend  # noqa: E402

UNITS = {"api.service": "/system.slice/api.service", "report.service": "/system.slice/report.service"}


@pytest.fixture
def kernel(tmp_path: Path) -> FakeKernel:
    return FakeKernel(tmp_path / "host", HostSpec())


@pytest.fixture
def run_module(kernel: FakeKernel, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., dict[str, Any]]:
    def backend_from(params: dict[str, Any], module: Any = None) -> PolicyfsBackend:
        return PolicyfsBackend(io=kernel, policy_root=params["policy_root"])

    monkeypatch.setattr(_modcommon, "backend_from", backend_from)
    monkeypatch.setattr(_modcommon, "systemd_resolver", lambda module: UNITS.get)

    def run(module: Any, args: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
        if hasattr(module, "backend_from"):
            monkeypatch.setattr(module, "backend_from", backend_from)
        if hasattr(module, "systemd_resolver"):
            monkeypatch.setattr(module, "systemd_resolver", lambda module: UNITS.get)
        full = {"host_root": kernel.root, **args, "_ansible_check_mode": check_mode}
        with patch_module_args(full), pytest.raises(SystemExit) as exit_info:
            module.main()
        result = json.loads(capsys.readouterr().out)
        result["rc_exit"] = exit_info.value.code
        return result

    return run
