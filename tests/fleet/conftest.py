"""Options of the fleet checks: ``--fleet-dir`` names the artifacts of a ``scripts/demo.sh`` run."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fleet-dir", default=None,
                     help="the DEMO_DIR of a scripts/demo.sh run (scripts/test-fleet.sh passes it)")


@pytest.fixture(scope="session")
def fleet_dir(request: pytest.FixtureRequest) -> Path:
    value = request.config.getoption("--fleet-dir")
    if not value:
        pytest.fail("--fleet-dir is required: run scripts/test-fleet.sh, or scripts/demo.sh with DEMO_DIR set first")
    path = Path(value)
    if not path.is_dir():
        pytest.fail(f"{path}: no such directory (did scripts/demo.sh run?)")
    return path
