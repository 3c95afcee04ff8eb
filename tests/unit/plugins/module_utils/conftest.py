"""Fixtures for the engine tests: a simulated host (tests/unit/fakekernel.py) and a backend on it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fakekernel import FakeKernel, HostSpec  # noqa: E402

from ansible_collections.policygroups.core.plugins.module_utils._policyfs._backend_policyfs import PolicyfsBackend  # noqa: E402


@pytest.fixture
def kernel(tmp_path: Path) -> FakeKernel:
    return FakeKernel(tmp_path / "host", HostSpec())


@pytest.fixture
def backend(kernel: FakeKernel) -> PolicyfsBackend:
    return PolicyfsBackend(io=kernel)
