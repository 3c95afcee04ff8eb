"""playbooks/drift.sh: the exit status follows the report (0 in sync, 2 drift, 1 error), never a guess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DRIFT_SH = REPO / "playbooks" / "drift.sh"


def fake_ansible_playbook(tmp_path: Path, exit_code: int, summary: dict | None, garbage: bool = False) -> Path:
    """A stand-in for ansible-playbook that records its arguments and writes the report drift.yml would."""
    script = tmp_path / "fake-ansible-playbook"
    report = "None" if summary is None else repr(json.dumps({"format": 1, "summary": summary, "hosts": []}))
    script.write_text(f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
open(os.path.join({str(tmp_path)!r}, "args.json"), "w").write(json.dumps(args))
report_dir = next(a.split("=", 1)[1] for a in args if a.startswith("policy_groups_report_dir="))
content = {report}
if {garbage!r}:
    content = "not json"
if content is not None:
    open(os.path.join(report_dir, "drift.json"), "w").write(content)
sys.exit({exit_code})
""")
    script.chmod(0o755)
    return script


def run(tmp_path: Path, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ANSIBLE_PLAYBOOK=str(script), PYTHON=sys.executable,
               POLICY_GROUPS_REPORT_DIR=str(tmp_path / "report"))
    return subprocess.run([str(DRIFT_SH), *args], env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("status", "code"), [("in_sync", 0), ("drifted", 2), ("error", 1)])
def test_exit_status_from_report(tmp_path: Path, status: str, code: int) -> None:
    script = fake_ansible_playbook(tmp_path, 0 if code == 0 else 2, {"status": status, "exit_code": code})
    result = run(tmp_path, script, "-i", "inv", "--limit", "web")
    assert result.returncode == code, result.stderr
    args = json.loads((tmp_path / "args.json").read_text())
    assert args[0].endswith("playbooks/drift.yml") and "--check" in args
    assert args[-4:] == ["-i", "inv", "--limit", "web"]


def test_missing_report_is_an_error(tmp_path: Path) -> None:
    assert run(tmp_path, fake_ansible_playbook(tmp_path, 4, None)).returncode == 1


def test_stale_report_is_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "report").mkdir()
    (tmp_path / "report" / "drift.json").write_text(json.dumps({"summary": {"exit_code": 0}}))
    assert run(tmp_path, fake_ansible_playbook(tmp_path, 4, None)).returncode == 1


def test_unreadable_report_is_an_error(tmp_path: Path) -> None:
    script = fake_ansible_playbook(tmp_path, 0, {"status": "in_sync", "exit_code": 0}, garbage=True)
    result = run(tmp_path, script)
    assert result.returncode == 1 and "unreadable report" in result.stderr
