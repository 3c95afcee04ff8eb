"""The policy_groups role reinstalls its boot-time restore when the installed file is not the one it would
install (deleted, truncated, edited): the installed file itself is compared, not a stamp written beside it.
Runs the role on a simulated host tree (ansible_connection: local, host_root)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = sim.ROLE_PLAY
RESTORE = sim.RESTORE_PYZ


def converge(tmp_path: Path) -> str:
    run = sim.ansible_playbook(tmp_path, "-i", str(tmp_path / "inv.json"), "play.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    return run.stdout


def installed_items(output: str) -> set[str]:
    """The per-item result lines of the task that installs the restore, the persisted policy and the unit."""
    section = output.split("Install the restore, the persisted policy and the restore unit", 1)[1].split("TASK", 1)[0]
    return {line.strip() for line in section.splitlines() if "=> (item=" in line}


def test_a_deleted_or_altered_restore_is_reinstalled(tmp_path: Path) -> None:
    root = tmp_path / "host"
    document = sim.fleet_document({"name": "latency", "thp": "never"})
    sim.simulated_host(root, converged_to=document)  # a plain tree cannot act as a kernel across processes
    sim.write_inventory(tmp_path / "inv.json", {"h1": sim.local_host(root)}, document)
    (tmp_path / "play.yml").write_text(PLAY)
    converge(tmp_path)
    installed = (root / RESTORE).read_bytes()
    assert installed[:2] == b"PK"
    assert installed_items(converge(tmp_path)) == {"ok: [h1] => (item=restore)", "ok: [h1] => (item=policy)",
                                                   "ok: [h1] => (item=unit)"}

    (root / RESTORE).write_bytes(installed[: len(installed) // 2])
    assert "changed: [h1] => (item=restore)" in installed_items(converge(tmp_path))
    assert (root / RESTORE).read_bytes() == installed

    (root / RESTORE).unlink()
    converge(tmp_path)
    assert (root / RESTORE).read_bytes() == installed
