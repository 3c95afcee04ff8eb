"""The policy_groups role in check mode on a host whose swap tiers are not defined yet (a simulated host tree,
ansible_connection: local, host_root): the tiers it would create are reported as tier changes, the groups are
planned against them (not reported as missing tiers), and nothing on the host is written.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fakekernel import HostSpec  # noqa: E402
import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

DOC = sim.fleet_document({"name": "latency", "swap": {"tiers": ["fast"]}, "thp": "never"},
                         {"name": "batch", "swap": {"tiers": ["slow"]}, "ksm": True})

PLAY = """
- name: The role in check mode
  hosts: all
  gather_facts: false
  check_mode: true
  roles: [policygroups.core.policy_groups]
  post_tasks:
    - name: Keep what the role planned
      ansible.builtin.copy:
        content: "{{ {'tiers': policy_groups_tiers_result.changes, 'groups': policy_groups_result.changes} | to_json }}"
        dest: "{{ result_file }}"
        mode: "0644"
      check_mode: false
"""


def test_check_mode_plans_groups_against_the_tiers_it_would_create(tmp_path: Path) -> None:
    root = tmp_path / "host"
    kernel = sim.simulated_host(root, HostSpec(swaps=(("/dev/zram0", 100), ("/dev/vdb", 10))))
    before = sim.host_files(root)
    inventory = sim.write_inventory(tmp_path / "inv.json", {"h1": sim.local_host(root)},
                                    {**DOC, "result_file": str(tmp_path / "planned.json")})
    (tmp_path / "play.yml").write_text(PLAY)
    run = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml")
    assert run.returncode == 0, run.stdout[-3000:]

    planned = json.loads((tmp_path / "planned.json").read_text())
    assert planned["tiers"] == [{"op": "set_tiers", "group": None, "key": "tiers", "before": [],
                                 "after": DOC["policy_swap_tiers"]}]
    assert [(c["op"], c["group"], c["key"], c["after"]) for c in planned["groups"]] == [
        ("create_group", "batch", None, None),
        ("set_policy", "batch", "ksm", "1"),
        ("set_policy", "batch", "swap_tiers", "slow"),
        ("create_group", "latency", None, None),
        ("set_policy", "latency", "thp", "never"),
        ("set_policy", "latency", "swap_tiers", "fast"),
    ]
    assert kernel.writes == [] and kernel.groups() == []
    assert sim.host_files(root) == before
