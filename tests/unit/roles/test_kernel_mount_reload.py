"""The policy_kernel role's mount unit (mount.yml, outside check mode): systemd reloads once for a unit it installs
or changes, never twice.

`systemctl enable` reloads systemd by itself, so the explicit ``daemon-reload`` belongs only to a changed unit that
is enabled already (enable does not run then). Each reload re-reads every unit: 3-4 s in a guest under software
emulation, paid on every host's first install.

The role runs on this machine (ansible_connection: local) against a stand-in ``systemctl`` first on PATH, which
records its calls and keeps the unit's enablement in a file; the template writes a unit of a name of its own under
/etc/systemd/system (removed afterwards), as the role writes it on a host.
"""

from __future__ import annotations

import os
import re
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

SYSTEM_UNITS = Path("/etc/systemd/system")
pytestmark = [sim.needs_ansible_playbook,
              pytest.mark.skipif(not SYSTEM_UNITS.is_dir() or not os.access(SYSTEM_UNITS, os.W_OK),
                                 reason="no writable /etc/systemd/system to install a unit in")]

# Answers as systemd does: is-enabled prints the state it is given (not-found, or nothing, for a unit file that is
# not there) and exits 0 only for an enabled unit; enable makes the unit enabled.
SYSTEMCTL = """#!/bin/sh
echo "$*" >>"{calls}"
case $1 in
  is-enabled)
    state=$(cat "{state}" 2>/dev/null)
    [ -n "$state" ] && echo "$state"
    [ "$state" = enabled ] ;;
  is-active) echo active ;;
  show) printf 'Id=%s\\nLoadState=loaded\\nActiveState=inactive\\nSubState=dead\\n' "$2" ;;
  enable) echo enabled >"{state}" ;;
  daemon-reload|start) ;;
  *) exit 64 ;;
esac
"""


@pytest.fixture
def unit() -> Iterator[Path]:
    path = SYSTEM_UNITS / f"policygroups-test-{uuid.uuid4().hex[:12]}.service"
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def run_mount(tmp_path: Path, unit: Path, state: str) -> tuple[str, list[str]]:
    """Run mount.yml with the unit in ``state`` as `systemctl is-enabled` reports it ('' for unknown); returns the
    output and systemctl's calls, the arguments of each on one line."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls, state_file = tmp_path / "calls", tmp_path / "state"
    calls.unlink(missing_ok=True)
    state_file.write_text(state + "\n" if state else "")
    systemctl = bin_dir / "systemctl"
    systemctl.write_text(SYSTEMCTL.format(calls=calls, state=state_file))
    systemctl.chmod(0o755)
    env = sim.ansible_env()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    variables = {"__policy_kernel_mount_unit": unit.name, "__policy_kernel_update_grub": "/nonexistent/update-grub"}
    result = sim.run_role_tasks(tmp_path, "policygroups.core.policy_kernel", "mount", variables,
                                title="The policy_kernel role's mount step", env=env)
    out = f"rc={result.returncode}\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, out[-3000:]
    return out, calls.read_text().splitlines() if calls.exists() else []


def task_status(out: str, task: str) -> str:
    """The status (ok, changed, skipping, ...) the role's task ``task`` reported in ``out``."""
    _before, _sep, rest = out.partition(f"TASK [policygroups.core.policy_kernel : {task}]")
    found = re.search(r"^([a-z]+): \[", rest.partition("\nTASK [")[0], re.MULTILINE)
    return found.group(1) if found else ""


def changes(calls: list[str]) -> list[str]:
    """The calls that change systemd's state (what the role's probe and the module only read is left out)."""
    return [call.split()[0] for call in calls if call.split()[0] in ("daemon-reload", "enable", "start")]


# systemd 257 says not-found of a unit file that is not there, older releases print nothing
@pytest.mark.parametrize("missing", ["not-found", ""])
def test_a_new_unit_is_enabled_with_the_reload_enable_does_and_no_other(tmp_path: Path, unit: Path,
                                                                        missing: str) -> None:
    _out, calls = run_mount(tmp_path, unit, missing)
    assert unit.is_file()
    assert changes(calls) == ["enable"], calls
    assert f"is-enabled -- {unit.name}" in calls  # the probe asked


def test_a_written_but_disabled_unit_is_enabled_without_an_explicit_reload(tmp_path: Path, unit: Path) -> None:
    # a run killed between the template and the enable left the unit written but not enabled; its file changed
    unit.write_text("[Unit]\nDescription=an older version\n")
    _out, calls = run_mount(tmp_path, unit, "disabled")
    assert changes(calls) == ["enable"], calls


def test_a_changed_unit_that_is_enabled_gets_the_explicit_reload(tmp_path: Path, unit: Path) -> None:
    unit.write_text("[Unit]\nDescription=an older version\n")
    _out, calls = run_mount(tmp_path, unit, "enabled")
    assert changes(calls) == ["daemon-reload"], calls


def test_an_unchanged_enabled_unit_is_left_alone(tmp_path: Path, unit: Path) -> None:
    run_mount(tmp_path, unit, "")
    content = unit.read_text()
    out, calls = run_mount(tmp_path, unit, "enabled")
    assert changes(calls) == [] and unit.read_text() == content, calls
    # and without a module run for it: the probe read the unit's digest, mode and state, so neither the template
    # (stat, then file) nor systemd_service (systemctl show) ran; only the probe asked systemctl
    assert [call.split()[0] for call in calls] == ["is-enabled", "is-active"], calls
    for task in ("Install the unit that mounts the policy hierarchy at boot",
                 "Enable the mount at boot (and mount now where the running kernel has the controller)"):
        assert task_status(out, task) == "skipping", out[-3000:]


@pytest.mark.parametrize("change", ["mode", "content"])
def test_a_unit_changed_by_hand_is_put_back(tmp_path: Path, unit: Path, change: str) -> None:
    # the probe's digest and mode of the unit decide whether the template runs: a later run repairs either
    run_mount(tmp_path, unit, "")
    content = unit.read_text()
    if change == "mode":
        unit.chmod(0o600)
    else:
        unit.write_text(content + "# changed by hand\n")
    _out, calls = run_mount(tmp_path, unit, "enabled")
    assert unit.read_text() == content and unit.stat().st_mode & 0o777 == 0o644
    assert changes(calls) == ["daemon-reload"], calls  # enabled already: the explicit reload, once


def test_a_unit_whose_state_cannot_be_read_gets_the_explicit_reload(tmp_path: Path, unit: Path) -> None:
    # a state the role does not know (here: static): enable may not run, so systemd must be told explicitly
    unit.write_text("[Unit]\nDescription=an older version\n")
    _out, calls = run_mount(tmp_path, unit, "static")
    assert changes(calls)[:1] == ["daemon-reload"], calls
