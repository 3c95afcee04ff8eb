"""playbooks/tasks/health_check.yml after a batch that ran in check mode, set by ``--check`` or by the play
(``check_mode: true``, which ``ansible_check_mode`` does not show): nothing was applied, so the post-change
check has nothing to check and must not fail the batch. The simulated host has no policy yet.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = """
- name: A batch's policy step and its post-change health check
  hosts: all
  gather_facts: false
{play_check_mode}  roles: [policygroups.core.policy_groups]
  post_tasks:
    - name: Health check after the change
      ansible.builtin.include_tasks: {health_check}
      vars:
        policy_groups_health_phase: post
"""


@pytest.mark.parametrize("mode", ["play", "cli"])
def test_post_check_is_skipped_after_a_check_mode_batch(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "h1"
    sim.simulated_host(root)
    before = sim.host_files(root)
    inventory = sim.write_inventory(tmp_path / "inv.json", {"h1": sim.local_host(root)},
                                    sim.fleet_document(sim.LATENCY, sim.BACKGROUND))
    play_line, args = sim.check_mode_by(mode)
    (tmp_path / "play.yml").write_text(PLAY.format(play_check_mode=play_line,
                                                   health_check=sim.REPO / "playbooks" / "tasks" / "health_check.yml"))
    run = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", *args)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "TASK [Health (post) - the rendered policy is in effect]" in run.stdout
    assert "policy is not in effect" not in run.stdout
    assert sim.host_files(root) == before
