"""The policy_kernel role's check-mode branches (mount.yml, verify.yml) under a play's ``check_mode: true`` as under
``--check``: ``ansible_check_mode`` reflects the command line alone, so the role tells check mode from a task
result.

The cases run task files of the role (include_role tasks_from) on this machine (ansible_connection: local): they
read the running kernel (uname -r, /proc/cgroups) and compare a unit under /etc/systemd/system. mount.yml runs
in check mode only; the control case, outside check mode, runs verify.yml alone, which only reads. Outside check
mode too: probe.yml reads the host once for the task files after it (main.yml tells them so, here the variable
__policy_kernel_probed does), and a task file run alone reads the host itself.
"""

from __future__ import annotations

import json
import platform
import sys
import uuid
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = """
- name: Task files of the policy_kernel role, in the order the role runs them
  hosts: all
  gather_facts: false
{play_check_mode}  tasks:
{pre}{includes}{post}"""
# As the role's reboot handler leaves its result when it rebooted the host
REBOOTED = """    - name: The role's handler rebooted the host
      ansible.builtin.debug:
        msg: rebooted
      changed_when: true
      register: __policy_kernel_rebooted
"""
SHOW_HOST = """    - name: Show what the probe read
      ansible.builtin.debug:
        var: __policy_kernel_host
"""
INCLUDE = """    - name: Run {tasks}.yml
      ansible.builtin.include_role:
        name: policygroups.core.policy_kernel
        tasks_from: {tasks}
"""
SYSTEM_UNITS = Path("/etc/systemd/system")
ROLE = Path(__file__).resolve().parents[3] / "roles" / "policy_kernel"


def run_tasks(tmp_path: Path, tasks: list[str], mode: str, variables: dict[str, str], pre: str = "",
              post: str = "") -> str:
    """Run the ``tasks`` files, in check mode by the play (``play``), by ``--check`` (``cli``) or not (``none``);
    ``variables`` are extra vars, above the role's own vars; ``pre`` and ``post`` are tasks before and after."""
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    play_line, args = sim.check_mode_by(mode)
    (tmp_path / "play.yml").write_text(PLAY.format(play_check_mode=play_line, pre=pre, post=post,
                                                   includes="".join(INCLUDE.format(tasks=t) for t in tasks)))
    result = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "-e", json.dumps(variables), *args)
    return f"rc={result.returncode}\n{result.stdout}"


def run_with_a_new_unit(tmp_path: Path, tasks: list[str], mode: str, variables: dict[str, str]) -> tuple[str, str]:
    """Run ``tasks`` (mount.yml first) in check mode with a mount unit nothing installed, so that mount.yml's
    template would create it; check mode must not. Returns the output and the unit's name."""
    assert mode != "none", "mount.yml outside check mode would install and start a unit on this machine"
    unit = SYSTEM_UNITS / f"policygroups-test-{uuid.uuid4().hex[:12]}.service"
    try:
        out = run_tasks(tmp_path, tasks, mode, {**variables, "__policy_kernel_mount_unit": unit.name})
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
    """The first status line (ok, changed, skipping, included, ...) after the first header of the role's task
    ``name``."""
    header = f"TASK [policygroups.core.policy_kernel : {name}]"
    assert header in out, out[-3000:]
    for line in out.split(header, 1)[1].splitlines()[1:]:
        if line.split(":", 1)[0] in ("ok", "changed", "skipping", "fatal", "failed", "included"):
            return line.split(":", 1)[0]
    raise AssertionError(f"no status after {header}")


NO_GRUB = {"__policy_kernel_update_grub": "/nonexistent/update-grub"}  # whatever this machine has
READ_ALONE = "Read the host (this file runs alone)"
READ_AGAIN = "Read the host again (after a reboot by the role's handler, or where this file runs alone)"


@pytest.mark.parametrize("mode", ["play", "cli"])
def test_verify_alone_in_check_mode_verifies(tmp_path: Path, mode: str) -> None:
    # run alone, nothing of this run would install or start the mount: an unreadable ABI is a failure in check
    # mode too (a check-mode audit of a host whose hierarchy is not mounted must not pass)
    variables = {**NO_GRUB, "policy_kernel_release": platform.release(),
                 "policy_kernel_policy_root": str(tmp_path / "policy")}
    out = run_tasks(tmp_path, ["verify"], mode, variables)
    assert out.startswith("rc=2\n") and "policy.abi_version cannot be read" in out, out[-3000:]


def test_verify_alone_after_a_check_mode_run_verifies(tmp_path: Path) -> None:
    # what an earlier check-mode run of the role left (its probe's answer, and the marker older versions kept) must
    # not make verify.yml, run alone outside check mode, skip the ABI check it would skip only in check mode
    earlier = """    - name: What an earlier check-mode run left
      ansible.builtin.set_fact:
        __policy_kernel_host: {check_mode: true, release: "{{ policy_kernel_release }}", bootloader: none}
    - name: The check-mode marker of older versions
      ansible.builtin.command: "true"
      register: __policy_kernel_check_mode_probe
      when: false
"""
    variables = {**NO_GRUB, "policy_kernel_release": platform.release(),
                 "policy_kernel_policy_root": str(tmp_path / "policy")}
    out = run_tasks(tmp_path, ["verify"], "none", variables, pre=earlier)
    assert out.startswith("rc=2\n") and "policy.abi_version cannot be read" in out, out[-3000:]


@pytest.mark.parametrize("installed", ["running", "other"])
def test_after_the_probe_no_task_file_reads_the_host_again_without_a_reboot(tmp_path: Path, installed: str) -> None:
    # as in the role: probe.yml, then reboot.yml and verify.yml told that it ran; the handler did not reboot (none
    # was needed, or the role may not): neither reads the host again, and a pending reboot is still reported
    release = platform.release() if installed == "running" else "0.0.0-policy-other"
    variables = {**NO_GRUB, "policy_kernel_release": release, "policy_kernel_policy_root": str(tmp_path / "policy"),
                 "policy_kernel_verify": "false", "policy_kernel_reboot_ok": "false", "__policy_kernel_probed": "true"}
    out = run_tasks(tmp_path, ["probe", "reboot", "verify"], "none", variables)
    assert out.startswith("rc=0\n"), out[-3000:]
    assert out.count("TASK [policygroups.core.policy_kernel : Read the host (virtual machine") == 1, out[-3000:]
    assert task_status(out, READ_ALONE) == "skipping"
    assert task_status(out, READ_AGAIN) == "skipping"
    pending = task_status(out, "Report a pending reboot that the role may not do")
    assert pending == ("ok" if installed == "other" else "skipping")
    # the ABI is read only from the kernel that was installed, whose release the probe saw running
    assert task_status(out, "Read the policy ABI version") == ("ok" if installed == "running" else "skipping")


def test_after_a_reboot_by_the_handler_verify_reads_the_host_again(tmp_path: Path) -> None:
    variables = {**NO_GRUB, "policy_kernel_release": platform.release(),
                 "policy_kernel_policy_root": str(tmp_path / "policy"), "policy_kernel_verify": "false",
                 "__policy_kernel_probed": "true"}
    out = run_tasks(tmp_path, ["probe", "verify"], "none", variables, pre=REBOOTED)
    assert out.startswith("rc=0\n"), out[-3000:]
    assert task_status(out, READ_AGAIN) == "included"
    assert out.count("TASK [policygroups.core.policy_kernel : Read the host (virtual machine") == 2, out[-3000:]


@pytest.mark.parametrize(("verify", "mode"), [("true", "none"), ("false", "none"), ("true", "cli"), ("true", "play")])
def test_a_reboot_by_the_handler_that_comes_back_on_another_kernel_fails(tmp_path: Path, verify: str,
                                                                         mode: str) -> None:
    # the handler rebooted, and the host came up on another kernel (GRUB's default changed meanwhile, a firmware
    # that boots what it likes): reporting "a reboot is required" would ask for the same reboot on every run. In
    # check mode the handler reports the reboot it would do, and the same kernel runs: no failure there.
    if "-policy" in platform.release():
        pytest.skip("a policy kernel runs here")
    variables = {**NO_GRUB, "policy_kernel_release": "6.12.118-policy", "policy_kernel_verify": verify,
                 "policy_kernel_policy_root": str(tmp_path / "policy"), "__policy_kernel_probed": "true"}
    out = run_tasks(tmp_path, ["probe", "verify"], mode, variables, pre=REBOOTED)
    message = f"rebooted into {platform.release()}, not the installed 6.12.118-policy"
    if mode == "none":
        assert out.startswith("rc=2\n") and message in out, out[-3000:]
    else:
        assert out.startswith("rc=0\n") and message not in out, out[-3000:]


@pytest.mark.parametrize("tasks", ["reboot", "verify", "bootloader"])
def test_a_task_file_run_alone_reads_the_host_itself(tmp_path: Path, tasks: str) -> None:
    # tasks_from: never what an earlier run read (a fact that outlives the run): a stale release left here must not
    # be used
    variables = {**NO_GRUB, "policy_kernel_release": platform.release(),
                 "policy_kernel_policy_root": str(tmp_path / "policy"), "policy_kernel_verify": "false",
                 "policy_kernel_reboot_ok": "false"}
    stale = """    - name: What an earlier run read
      ansible.builtin.set_fact:
        __policy_kernel_host: {release: 0.0.0-stale, bootloader: grub, root_uuid: stale}
"""
    out = run_tasks(tmp_path, [tasks], "none", variables, pre=stale, post=SHOW_HOST)
    assert out.startswith("rc=0\n"), out[-3000:]
    assert task_status(out, READ_AGAIN if tasks == "verify" else READ_ALONE) == "included"
    shown = out.split("Show what the probe read", 1)[1]
    assert f'"release": "{platform.release()}"' in shown and "0.0.0-stale" not in shown, shown
    assert '"bootloader": "none"' in shown and "root_uuid" not in shown, shown
    if tasks == "bootloader":
        assert "No bootloader on this host (no GRUB)" in out


def grub_fakes(tmp_path: Path, findmnt: str) -> dict[str, str]:
    """update-grub and grub.cfg, and a findmnt that runs ``findmnt`` (a shell body), as the probe's variables."""
    fakes = {"update-grub": "#!/bin/sh\n", "findmnt": f"#!/bin/sh\n{findmnt}\n"}
    for name, text in fakes.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    (tmp_path / "grub.cfg").write_text("")
    return {"__policy_kernel_update_grub": str(tmp_path / "update-grub"),
            "__policy_kernel_grub_config": str(tmp_path / "grub.cfg"),
            "__policy_kernel_findmnt_command": str(tmp_path / "findmnt")}


@pytest.mark.parametrize("mode", ["cli", "none"])
def test_the_probe_finds_grub_and_the_root_uuid(tmp_path: Path, mode: str) -> None:
    # update-grub and grub.cfg, then the root file system's UUID, in the probe's one module run, also in check mode
    uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    variables = grub_fakes(tmp_path, f'[ "$*" = "--noheadings --output UUID --target /" ] && echo {uuid}')
    out = run_tasks(tmp_path, ["probe"], mode, variables, post=SHOW_HOST)
    assert out.startswith("rc=0\n"), out[-3000:]
    shown = out.split("Show what the probe read", 1)[1]
    assert '"bootloader": "grub"' in shown and f'"root_uuid": "{uuid}"' in shown, shown
    assert f'"release": "{platform.release()}"' in shown, shown
    assert '"policy_controller": false' in shown or '"policy_controller": true' in shown, shown
    assert f'"check_mode": {str(mode == "cli").lower()}' in shown, shown


def test_a_root_uuid_that_cannot_be_read_fails_the_probe_and_says_why(tmp_path: Path) -> None:
    out = run_tasks(tmp_path, ["probe"], "none", grub_fakes(tmp_path, "exit 1"), post=SHOW_HOST)
    assert out.startswith("rc=2\n"), out[-3000:]
    assert "findmnt could not tell the root file system's UUID" in out
    assert "Show what the probe read" not in out


def test_without_grub_the_probe_says_none(tmp_path: Path) -> None:
    out = run_tasks(tmp_path, ["probe"], "none", dict(NO_GRUB), post=SHOW_HOST)
    assert out.startswith("rc=0\n"), out[-3000:]
    shown = out.split("Show what the probe read", 1)[1]
    assert '"bootloader": "none"' in shown and "root_uuid" not in shown, shown


def test_main_yml_probes_first_and_tells_every_task_file() -> None:
    # the tests above stand in for main.yml with an extra var; this checks the wiring they assume
    tasks = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    files = [t.get("ansible.builtin.import_tasks") or t.get("ansible.builtin.include_tasks") for t in tasks]
    probe = files.index("probe.yml")
    for name in ("guest_check.yml", "bootloader.yml", "mount.yml", "reboot.yml", "verify.yml"):
        task = tasks[files.index(name)]
        assert files.index(name) > probe, name
        assert task.get("vars") == {"__policy_kernel_probed": True}, name
