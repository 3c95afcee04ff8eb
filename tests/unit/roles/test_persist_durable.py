"""The policy_groups role flushes what it persisted to disk: ansible.builtin.copy renames a temporary file into place
without fsync, so after a power loss the boot-time restore could find the rename but not the data. The role runs
coreutils ``sync`` on exactly the files it wrote, the directories they were renamed into and the parents of the
directories it made, only when it wrote something. Runs the role on a simulated host tree (ansible_connection: local, host_root), with a
``sync`` first on PATH that records its arguments (and then runs the real one)."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = sim.ROLE_PLAY
POLICY = "etc/policygroups/policy.json"
RESTORE = sim.RESTORE_PYZ
UNIT = "etc/systemd/system/policygroups-restore.service"


def recording_sync(bin_dir: Path, log: Path) -> dict[str, str]:
    """An environment whose PATH starts with a ``sync`` that appends its arguments, one call per line, to ``log``."""
    real = shutil.which("sync")
    assert real, "coreutils sync is not installed"
    bin_dir.mkdir()
    script = bin_dir / "sync"
    script.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >>"{log}"\nexec {real} "$@"\n')
    script.chmod(0o755)
    env = sim.ansible_env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    return env


def run(tmp_path: Path, env: dict[str, str], *args: str) -> None:
    result = sim.ansible_playbook(tmp_path, "-i", str(tmp_path / "inv.json"), *args, "play.yml", env=env)
    assert result.returncode == 0, result.stdout[-3000:]


def calls(log: Path) -> list[list[str]]:
    text = log.read_text() if log.exists() else ""
    log.unlink(missing_ok=True)
    return [line.split() for line in text.splitlines()]


def test_written_files_and_their_directories_are_flushed_only_when_written(tmp_path: Path) -> None:
    root, log = tmp_path / "host", tmp_path / "sync.log"
    env = recording_sync(tmp_path / "bin", log)
    document = sim.fleet_document({"name": "latency", "thp": "never"})
    sim.simulated_host(root, converged_to=document)
    sim.write_inventory(tmp_path / "inv.json", {"h1": sim.local_host(root)}, document)
    (tmp_path / "play.yml").write_text(PLAY)

    run(tmp_path, env)
    written = [str(root / p) for p in (RESTORE, POLICY, UNIT)]
    made = [str(root / "usr/local/lib/policygroups"), str(root / "etc/policygroups")]
    [first] = calls(log)
    assert first[0] == "--"
    expected = set(written) | {os.path.dirname(p) for p in written} | {os.path.dirname(d) for d in made}
    assert sorted(first[1:]) == sorted(expected) and len(first[1:]) == len(expected)

    run(tmp_path, env)
    assert calls(log) == [], "a converged host paid for a flush"

    changed = sim.fleet_document({"name": "latency", "thp": "always"})
    sim.write_inventory(tmp_path / "inv.json", {"h1": sim.local_host(root)}, changed)
    run(tmp_path, env)
    assert calls(log) == [["--", str(root / POLICY), str(root / POLICY).rsplit("/", 1)[0]]]
