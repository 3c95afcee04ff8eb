"""The policy_groups role in check mode on a host whose swap tiers are not defined yet (a simulated host tree,
ansible_connection: local, host_root): the tiers it would create are reported as tier changes, the groups are
planned against them (not reported as missing tiers), and nothing on the host is written.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
COLLECTIONS = REPO / ".cache" / "collections"
sys.path.insert(0, str(REPO / "tests" / "unit"))

from fakekernel import FakeKernel, HostSpec  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) is None,
                                reason="ansible-playbook not installed next to this interpreter")

DOC: dict[str, Any] = {
    "policy_swap_tiers": [{"name": "fast", "start_priority": 100}, {"name": "slow", "start_priority": -1}],
    "policy_groups": [
        {"name": "latency", "swap": {"tiers": ["fast"]}, "thp": "never"},
        {"name": "batch", "swap": {"tiers": ["slow"]}, "ksm": True},
    ],
}

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
    kernel = FakeKernel(root, HostSpec(swaps=(("/dev/zram0", 100), ("/dev/vdb", 10))))
    (root / "etc" / "systemd" / "system").mkdir(parents=True)
    before = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    inventory = tmp_path / "inv.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"h1": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "policy_groups_host_root": str(root), "result_file": str(tmp_path / "planned.json"), **DOC}}}}))
    (tmp_path / "play.yml").write_text(PLAY)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_RETRY_FILES_ENABLED="0")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run(["ansible-playbook", "-i", str(inventory), "play.yml"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
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
    after = sorted(str(p.relative_to(root)) for p in root.rglob("*"))
    assert [p for p in after if p != "run/policygroups.lock"] == before  # the lock file is the runs' rendezvous
