""".ci/speed.py: the CI run's operator-speed summary, read from the targets' logs and vm/up.sh's record of starts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SPEED = Path(__file__).resolve().parents[3] / ".ci" / "speed.py"


@pytest.fixture(name="speed", scope="module")
def fixture_speed() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_speed", SPEED)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_speed"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


POLICYFS_LOG = """\
=== test-vm: stage times
  molecule policyfs        627 s  ok
    policyfs: destroy              3 s  Successful
    policyfs: create              30 s  Successful
    policyfs: prepare            104 s  Successful
    policyfs: converge            33 s  Successful
    policyfs: idempotence         18 s  Successful
    policyfs: side_effect         21 s  Successful
    policyfs: verify             185 s  Successful
    policyfs: destroy              9 s  Successful
"""

FLEET_LOG = """\
Wall time per step:
    29 s  Boot the example fleet: web1 db1 worker1 (reference kernel)
   205 s  Roll out the kernel and the example policy: playbooks/rollout.yml (canary web1, then waves)
    27 s  Roll out again: every host must report changed=0
"""


def test_starts_of_this_run_only_split_by_how(speed: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "starts.log"
    log.write_text("99 old 50 cold\n100 a 3.5 restored\n120 b 4.5 restored\nnot a line\n130 c 40 cold\n"
                   "140 d x restored\n")
    assert speed.guest_starts(log, 100) == ([3.5, 4.5], [40.0])
    assert speed.guest_starts(tmp_path / "missing.log", 0) == ([], [])


def test_policyfs_counts_the_steps_past_create_and_prepare(speed: ModuleType) -> None:
    assert speed.policyfs(POLICYFS_LOG.splitlines()) == ("627 s", f"{33 + 18 + 21 + 185} s")
    assert speed.policyfs(None) == ("-", "-")
    assert speed.policyfs(["unrelated"]) == ("-", "-")


def test_the_demo_steps_by_title(speed: ModuleType) -> None:
    lines = FLEET_LOG.splitlines()
    assert speed.demo_step(lines, "Roll out the kernel") == "205 s"
    assert speed.demo_step(lines, "Roll out again") == "27 s"
    assert speed.demo_step(lines, "Drift audit") == "-"


def test_the_table_from_logs_and_what_is_missing(speed: ModuleType, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "test-policyfs.log").write_text(POLICYFS_LOG)
    (tmp_path / "starts.log").write_text("100 a 3.5 restored\n100 b 4.5 restored\n100 c 6.0 restored\n")
    assert speed.main([str(tmp_path), str(tmp_path / "starts.log"), "100", "2000"]) == 0
    out = capsys.readouterr().out
    assert "CI run, from a clean clone" in out and "2000 s" in out
    assert "median 4.5 s, 3.5-6.0 s (3)" in out
    assert "257 s" in out
    # no test-fleet log: its rows say so, no cold boot either
    fleet = [line for line in out.splitlines() if "rollout" in line or "cold boot" in line]
    assert len(fleet) == 3 and all("  -  " in line for line in fleet)
    assert speed.main(["only", "two"]) == 2


def test_a_log_older_than_the_run_is_not_this_runs(speed: ModuleType, tmp_path: Path) -> None:
    log = tmp_path / "test-policyfs.log"
    log.write_text(POLICYFS_LOG)
    mtime = int(log.stat().st_mtime)
    assert speed.read(tmp_path, "test-policyfs", mtime) is not None
    assert speed.read(tmp_path, "test-policyfs", mtime + 10) is None
    assert speed.read(tmp_path, "test-fleet", 0) is None
