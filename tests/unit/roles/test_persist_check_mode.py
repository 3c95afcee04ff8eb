"""The policy_groups role's persist step in check mode on a host where its boot-time restore unit is not installed
yet: under a play's ``check_mode: true`` as under ``--check`` it reports that the unit would be installed and
enabled, and does not ask systemd to enable a unit it does not know (which fails the host, so that an audit by
playbooks/drift.yml would report an error instead of drift). The module that persists (policygroups.core.
policy_host, run by the role's converge task) knows its check mode itself, whichever way it was set.

The simulated hosts of simhosts.py cannot show this: the role enables the unit only when it manages the root of
the machine it runs on (policy_groups_host_root: /), never under another host root. So the cases run the role
with ``--tags persist`` (probe, render, persist; no apply) on this machine (ansible_connection:
local), in check mode only, with an empty fleet document, a unit name nothing installed, and the policy root,
the restore directory and the persisted policy under the test's temporary directory.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = """
- name: The policy_groups role's persist step
  hosts: all
  gather_facts: false
{play_check_mode}  roles: [policygroups.core.policy_groups]
"""
SYSTEM_UNITS = Path("/etc/systemd/system")


@pytest.mark.skipif(not SYSTEM_UNITS.is_dir(), reason="no /etc/systemd/system to compare with")
@pytest.mark.parametrize("mode", ["play", "cli"])
def test_a_new_restore_unit_is_reported_not_enabled(tmp_path: Path, mode: str) -> None:
    unit = SYSTEM_UNITS / f"policygroups-test-{uuid.uuid4().hex[:12]}.service"
    variables = {
        "policy_groups": [],
        "policy_groups_on_unsupported": "drop",  # this machine has no policy groups: nothing to honour anyway
        "policy_groups_restore_unit": unit.name,
        "policy_groups_restore_dir": str(tmp_path / "lib" / "policygroups"),
        "policy_groups_persist_path": str(tmp_path / "etc" / "policygroups" / "policy.json"),
        "policy_groups_root": str(tmp_path / "policy"),
    }
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    play_line, args = sim.check_mode_by(mode)
    (tmp_path / "play.yml").write_text(PLAY.format(play_check_mode=play_line))
    try:
        run = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "--tags", "persist", "-v",
                                   "-e", json.dumps(variables), *args, env=sim.json_results_env())
        assert not unit.exists(), "check mode wrote the unit"
    finally:
        unit.unlink(missing_ok=True)
    assert run.returncode == 0, run.stdout[-3000:]
    [converge] = sim.task_results(run.stdout, "in one module run", "localhost")
    assert converge["changed"] and converge["check_mode"] and converge["module_runs"] == 2  # no facts cached yet
    persisted = converge["persist_result"]
    assert persisted["enabled"] is True and persisted["flushed"] == []
    assert {f["what"]: f["changed"] for f in persisted["files"]} == {"restore": True, "policy": True, "unit": True}
    assert "groups_result" not in converge and "tiers_result" not in converge  # --tags persist: no apply step
    # nothing of the restore or the persisted policy was written
    assert sim.host_files(tmp_path, "lib/**/*") == [] and sim.host_files(tmp_path, "etc/**/*") == []
