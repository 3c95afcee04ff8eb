"""The policy_kernel role's check-mode branches (mount.yml, verify.yml) under a play's ``check_mode: true`` as under
``--check``: ``ansible_check_mode`` reflects the command line alone, so the role tells check mode from a task
result.

The cases run task files of the role (include_role tasks_from) on this machine (ansible_connection: local): they
read the running kernel (uname -r, /proc/cgroups) and compare a unit under /etc/systemd/system. mount.yml runs
in check mode only; the control case, outside check mode, runs verify.yml alone, which only reads. Outside check
mode too, reboot.yml then verify.yml: the running release is read once when the role did not reboot the host.
"""

from __future__ import annotations

import json
import platform
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = """
- name: Task files of the policy_kernel role, in the order the role runs them
  hosts: all
  gather_facts: false
{play_check_mode}  tasks:
{includes}"""
INCLUDE = """    - name: Run {tasks}.yml
      ansible.builtin.include_role:
        name: policygroups.core.policy_kernel
        tasks_from: {tasks}
"""
SYSTEM_UNITS = Path("/etc/systemd/system")


def run_tasks(tmp_path: Path, tasks: list[str], mode: str, variables: dict[str, str],
              hosts: tuple[str, ...] = ("localhost",)) -> str:
    """Run the ``tasks`` files, in check mode by the play (``play``), by ``--check`` (``cli``) or not (``none``);
    ``variables`` are extra vars, above the role's own vars; every one of ``hosts`` is this machine."""
    inventory = sim.write_inventory(tmp_path / "inv.json", {h: {"ansible_connection": "local"} for h in hosts}, {})
    play_line, args = sim.check_mode_by(mode)
    (tmp_path / "play.yml").write_text(PLAY.format(play_check_mode=play_line,
                                                   includes="".join(INCLUDE.format(tasks=t) for t in tasks)))
    result = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "-e", json.dumps(variables), *args)
    return f"rc={result.returncode}\n{result.stdout}"


def run_with_a_new_unit(tmp_path: Path, tasks: list[str], mode: str, variables: dict[str, str],
                        hosts: tuple[str, ...] = ("localhost",)) -> tuple[str, str]:
    """Run ``tasks`` (mount.yml first) in check mode with a mount unit nothing installed, so that mount.yml's
    template would create it; check mode must not. Returns the output and the unit's name."""
    assert mode != "none", "mount.yml outside check mode would install and start a unit on this machine"
    unit = SYSTEM_UNITS / f"policygroups-test-{uuid.uuid4().hex[:12]}.service"
    try:
        out = run_tasks(tmp_path, tasks, mode, {**variables, "__policy_kernel_mount_unit": unit.name}, hosts)
        assert not unit.exists(), "check mode wrote the unit"
    finally:
        unit.unlink(missing_ok=True)
    return out, unit.name


@pytest.mark.skipif(not SYSTEM_UNITS.is_dir(), reason="no /etc/systemd/system to compare with")
@pytest.mark.parametrize("mode", ["play", "cli"])
def test_mount_reports_the_new_unit_instead_of_enabling_it(tmp_path: Path, mode: str) -> None:
    out, unit = run_with_a_new_unit(tmp_path, ["mount"], mode, {})
    assert out.startswith("rc=0\n"), out[-3000:]
    assert f"{unit} would be installed and enabled" in out


@pytest.mark.skipif(not SYSTEM_UNITS.is_dir(), reason="no /etc/systemd/system to compare with")
@pytest.mark.parametrize("mode", ["play", "cli"])
def test_check_mode_is_found_out_once_for_every_host(tmp_path: Path, mode: str) -> None:
    # the controller runs the probe once (no round trip to any host), and every host of the batch gets its answer
    out, unit = run_with_a_new_unit(tmp_path, ["mount"], mode, {}, hosts=("h1", "h2"))
    assert out.startswith("rc=0\n"), out[-3000:]
    probe = out.split("Find out whether the role runs in check mode]", 1)[1].split("TASK [", 1)[0]
    assert "[h1" in probe and "h2" not in probe, probe  # once, for the batch
    report = out.split("Report that the new unit would be enabled", 1)[1].split("TASK [", 1)[0]
    assert report.count(f"{unit} would be installed and enabled") == 2, report


@pytest.mark.skipif(not SYSTEM_UNITS.is_dir(), reason="no /etc/systemd/system to compare with")
@pytest.mark.parametrize("mode", ["play", "cli", "none"])
def test_verify_waits_for_the_mount_only_in_check_mode(tmp_path: Path, mode: str) -> None:
    # the installed kernel runs, but its hierarchy is not mounted (yet): no policy.abi_version to read
    variables = {"policy_kernel_release": platform.release(), "policy_kernel_policy_root": str(tmp_path / "policy")}
    if mode == "none":  # verify.yml alone, the way the role runs it after a real mount.yml
        out = run_tasks(tmp_path, ["verify"], mode, variables)
        assert out.startswith("rc=2\n") and "policy.abi_version cannot be read" in out, out[-3000:]
        return
    out, _unit = run_with_a_new_unit(tmp_path, ["mount", "verify"], mode, variables)
    assert out.startswith("rc=0\n"), out[-3000:]
    assert "policy.abi_version cannot be read" not in out
    assert "Check that the running kernel speaks the expected policy ABI]" in out


def task_status(out: str, name: str) -> str:
    """The first status line (ok, changed, skipping, ...) after the header of the role's task ``name``."""
    header = f"TASK [policygroups.core.policy_kernel : {name}]"
    assert header in out, out[-3000:]
    for line in out.split(header, 1)[1].splitlines()[1:]:
        if line.split(":", 1)[0] in ("ok", "changed", "skipping", "fatal", "failed"):
            return line.split(":", 1)[0]
    raise AssertionError(f"no status after {header}")


READ_AGAIN = "Read the running release again (after a reboot by the role, or where this file runs alone)"


@pytest.mark.parametrize("probe", [True, False], ids=["probed", "alone"])
@pytest.mark.parametrize("installed", ["running", "other"])
def test_verify_reads_the_release_again_only_after_a_reboot(tmp_path: Path, installed: str, probe: bool) -> None:
    # probe.yml (as in the role) or reboot.yml itself (tasks_from) read the release, and the handler did not reboot
    # (none was needed, or the role may not): verify.yml takes what was read instead of another round trip, and
    # still knows whether a reboot is pending
    release = platform.release() if installed == "running" else "0.0.0-policy-other"
    variables = {"policy_kernel_release": release, "policy_kernel_policy_root": str(tmp_path / "policy"),
                 "policy_kernel_verify": "false", "policy_kernel_reboot_ok": "false", "policy_kernel_bootloader": "grub"}
    out = run_tasks(tmp_path, ["probe", "reboot", "verify"] if probe else ["reboot", "verify"], "none", variables)
    assert out.startswith("rc=0\n"), out[-3000:]
    assert task_status(out, "Read the running kernel's release") == ("skipping" if probe else "ok")
    assert task_status(out, READ_AGAIN) == "skipping"
    pending = task_status(out, "Report a pending reboot that the role may not do")
    assert pending == ("ok" if installed == "other" else "skipping")
    # the ABI is read only from the kernel that was installed, whose release reboot.yml saw running
    assert task_status(out, "Read the policy ABI version") == ("ok" if installed == "running" else "skipping")


def test_verify_alone_reads_the_release(tmp_path: Path) -> None:
    variables = {"policy_kernel_release": platform.release(), "policy_kernel_policy_root": str(tmp_path / "policy"),
                 "policy_kernel_verify": "false"}
    out = run_tasks(tmp_path, ["verify"], "none", variables)
    assert out.startswith("rc=0\n"), out[-3000:]
    assert task_status(out, READ_AGAIN) == "ok"


@pytest.mark.skipif(Path("/usr/sbin/update-grub").exists() and Path("/boot/grub/grub.cfg").exists(),
                    reason="this machine has GRUB: bootloader.yml would configure it")
@pytest.mark.parametrize("mode", ["cli", "none"])
def test_a_host_without_grub_is_found_by_the_probe(tmp_path: Path, mode: str) -> None:
    # update-grub and grub.cfg, and with GRUB the root file system's UUID, in the probe's one round trip, also in
    # check mode
    out = run_tasks(tmp_path, ["probe", "bootloader"], mode, {"policy_kernel_release": "0.0.0-policy-other"})
    assert out.startswith("rc=0\n"), out[-3000:]
    assert task_status(out, "Report a host without a bootloader") == "ok"
    assert "No bootloader on this host (no GRUB)" in out
    # bootloader.yml itself reaches the host no more: probe.yml read it
    bootloader = out.split("TASK [Run bootloader.yml]", 1)[1]
    assert "Record the bootloader (probe.yml" in bootloader and "Look for GRUB" not in bootloader
