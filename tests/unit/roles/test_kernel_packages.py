"""The policy_kernel role's package path (tasks/packages.yml) and its module lists (tasks/modules.yml), run on this
machine (ansible_connection: local): the refusals before anything changes, check mode's report, and the list a
localmod build reads. Installing and booting the packages is scripts/test-kernel-deb.sh's, in a guest.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import simhosts as sim  # noqa: E402

pytestmark = sim.needs_ansible_playbook

PLAY = """
- name: A task file of the policy_kernel role
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the build
      ansible.builtin.set_fact:
        __policy_kernel_manifest: "{{{{ manifest }}}}"
        policy_kernel_release: "{{{{ release }}}}"
      when: manifest is defined
    - name: Run {tasks}.yml
      ansible.builtin.include_role:
        name: policygroups.core.policy_kernel
        tasks_from: {tasks}
"""
RELEASE = "6.12.118-policy-localmod"


def host_facts() -> tuple[str, str]:
    """This machine's Debian release (codename) and architecture as dpkg names it."""
    release = next(line.split("=", 1)[1].strip().strip('"') for line in Path("/etc/os-release").read_text().splitlines()
                   if line.startswith("VERSION_CODENAME="))
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout.strip()
    return release, arch


def build(tmp_path: Path, release: str, arch: str) -> tuple[Path, dict[str, str]]:
    """A fake localmod build: a manifest and an image package file (never installed by these tests)."""
    directory = tmp_path / "build"
    directory.mkdir()
    version = "6.12.118-1~deb12u1+policy.0123abcd"
    image = f"linux-image-{RELEASE}_{version}_{arch}.deb"
    (directory / image).write_bytes(b"not a package")
    manifest = {"flavour": "localmod", "architecture": arch, "debian_releases": release, "package_version": version,
                "packages": f"{image} linux-headers-{RELEASE}_{version}_{arch}.deb"}
    return directory, manifest


def run(tmp_path: Path, tasks: str, variables: dict, *args: str) -> str:
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    (tmp_path / "play.yml").write_text(PLAY.format(tasks=tasks))
    result = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "-e", json.dumps(variables), *args)
    return f"rc={result.returncode}\n{result.stdout}"


def fake_grub_host(tmp_path: Path, findmnt: str = "echo 0f1e2d3c-uuid", menu: str | None = "") -> dict[str, str]:
    """Variables that point the role's probe at a faked GRUB host in ``tmp_path``: update-grub (a script that does
    nothing), findmnt (the shell line ``findmnt``) and grub.cfg (``menu``, when not None), with the GRUB drop-in's
    path there too."""
    for name, text in {"update-grub": "#!/bin/sh\n", "findmnt": f"#!/bin/sh\n{findmnt}\n"}.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    if menu is not None:
        (tmp_path / "grub.cfg").write_text(menu)
    return {"__policy_kernel_grub_defaults": str(tmp_path / "absent.cfg"),
            "__policy_kernel_update_grub": str(tmp_path / "update-grub"),
            "__policy_kernel_grub_config": str(tmp_path / "grub.cfg"),
            "__policy_kernel_findmnt_command": str(tmp_path / "findmnt")}


@pytest.fixture(name="facts")
def fixture_facts() -> tuple[str, str]:
    if not Path("/etc/debian_version").exists():
        pytest.skip("not a Debian machine")
    return host_facts()


def test_packages_of_another_architecture_are_refused(tmp_path: Path, facts: tuple[str, str]) -> None:
    release, arch = facts
    other = "arm64" if arch != "arm64" else "amd64"
    directory, manifest = build(tmp_path, release, other)
    out = run(tmp_path, "packages", {"manifest": manifest, "release": RELEASE, "policy_kernel_build_dir": str(directory),
                                     "policy_kernel_package_cache": str(tmp_path / "cache")}, "--check")
    assert out.startswith("rc=2\n"), out[-3000:]
    assert f"built for Debian {release} on {other}" in out and "Nothing was changed" in out
    assert not (tmp_path / "cache").exists()


def test_packages_of_another_release_are_refused(tmp_path: Path, facts: tuple[str, str]) -> None:
    release, arch = facts
    directory, manifest = build(tmp_path, "sid-not-this", arch)
    out = run(tmp_path, "packages", {"manifest": manifest, "release": RELEASE, "policy_kernel_build_dir": str(directory),
                                     "policy_kernel_package_cache": str(tmp_path / "cache")})
    assert out.startswith("rc=2\n"), out[-3000:]
    assert f"this host runs Debian {release} on {arch}" in out and "--release " + release in out
    assert not (tmp_path / "cache").exists(), "the refusal came after a change"


def test_check_mode_reports_the_image_it_would_install(tmp_path: Path, facts: tuple[str, str]) -> None:
    release, arch = facts
    directory, manifest = build(tmp_path, release, arch)
    out = run(tmp_path, "packages", {"manifest": manifest, "release": RELEASE, "policy_kernel_build_dir": str(directory),
                                     "policy_kernel_package_cache": str(tmp_path / "cache")}, "--check")
    assert out.startswith("rc=0\n"), out[-3000:]
    assert f"would install linux-image-{RELEASE} {manifest['package_version']} (installed: none)" in out
    assert "linux-headers" not in out.split("PLAY RECAP", maxsplit=1)[0].split("Report what check mode would install")[-1]
    assert not (tmp_path / "cache").exists(), "check mode copied the package"


def test_check_mode_of_a_play_reports_the_image_it_would_install(tmp_path: Path, facts: tuple[str, str]) -> None:
    # a preview play's check_mode: true, not --check (ansible_check_mode shows only --check): the role must report
    # what it would install, not try to install a package file that check mode did not copy
    release, arch = facts
    directory, manifest = build(tmp_path, release, arch)
    variables = {"manifest": manifest, "release": RELEASE, "policy_kernel_build_dir": str(directory),
                 "policy_kernel_package_cache": str(tmp_path / "cache")}
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    # as main.yml runs it: the probe (its module says whether the role runs in check mode), then the packages
    variables |= fake_grub_host(tmp_path, menu=None)
    play = PLAY.format(tasks="packages").replace("  gather_facts: false\n", "  gather_facts: false\n  check_mode: true\n")
    play = play.replace("    - name: Run packages.yml\n", """    - name: Run probe.yml
      ansible.builtin.include_role:
        name: policygroups.core.policy_kernel
        tasks_from: probe
    - name: Run packages.yml
""")
    (tmp_path / "play.yml").write_text(play)
    result = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "-e", json.dumps(variables))
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    assert f"would install linux-image-{RELEASE} {manifest['package_version']} (installed: none)" in out, out[-3000:]
    assert not (tmp_path / "cache").exists(), "check mode copied the package"


def test_a_build_without_the_image_package_is_refused(tmp_path: Path, facts: tuple[str, str]) -> None:
    release, arch = facts
    directory, manifest = build(tmp_path, release, arch)
    manifest["packages"] = "linux-libc-dev_1_amd64.deb"
    out = run(tmp_path, "packages", {"manifest": manifest, "release": RELEASE, "policy_kernel_build_dir": str(directory),
                                     "policy_kernel_package_cache": str(tmp_path / "cache")}, "--check")
    assert out.startswith("rc=2\n"), out[-3000:]
    assert f"has no package file for linux-image-{RELEASE}" in out


LSMOD = """Module                  Size  Used by
virtio_net             77824  0
zram                   45056  2
"""


def test_module_list_names_the_host_release_and_architecture(tmp_path: Path, facts: tuple[str, str]) -> None:
    release, arch = facts
    fake = tmp_path / "lsmod"
    fake.write_text(f"#!/bin/sh\nprintf '%s' '{LSMOD}'\n")
    fake.chmod(0o755)
    builtin = tmp_path / "modules.builtin"
    builtin.write_text("kernel/fs/ext4/ext4.ko\nkernel/drivers/block/virtio_blk.ko\nkernel/crypto/crc32c-generic.ko\n")
    out = run(tmp_path, "modules", {"policy_kernel_modules_dir": str(tmp_path / "modules"),
                                    "__policy_kernel_lsmod_command": [str(fake)],
                                    "__policy_kernel_modules_builtin": str(builtin)})
    assert out.startswith("rc=0\n"), out[-3000:]
    text = (tmp_path / "modules" / "localhost.lsmod").read_text()
    head, rest = text.split("\n", 1)
    assert head == f"# policygroups modules: host=localhost release={release} architecture={arch}"
    assert rest.startswith(LSMOD)
    # what the running kernel has built in is listed too, as lsmod would name it: a localmod build keeps it
    assert rest[len(LSMOD):].splitlines()[1:] == ["crc32c_generic 0 0", "ext4 0 0", "virtio_blk 0 0"]


def test_module_list_without_modules_builtin_is_lsmod_alone(tmp_path: Path, facts: tuple[str, str]) -> None:
    fake = tmp_path / "lsmod"
    fake.write_text(f"#!/bin/sh\nprintf '%s' '{LSMOD}'\n")
    fake.chmod(0o755)
    out = run(tmp_path, "modules", {"policy_kernel_modules_dir": str(tmp_path / "modules"),
                                    "__policy_kernel_lsmod_command": [str(fake)],
                                    "__policy_kernel_modules_builtin": str(tmp_path / "none")})
    assert out.startswith("rc=0\n"), out[-3000:]
    lines = (tmp_path / "modules" / "localhost.lsmod").read_text().splitlines()
    assert lines[-1].startswith("# built into ") and lines[-1].endswith(": 0")


def test_module_list_needs_a_destination(tmp_path: Path) -> None:
    out = run(tmp_path, "modules", {})
    assert out.startswith("rc=2\n") and "set policy_kernel_modules_dir" in out, out[-3000:]


def test_rollback_in_check_mode_changes_nothing_here(tmp_path: Path) -> None:
    # this machine runs no policy kernel and has none installed: nothing to remove, no reboot asked for
    if "-policy" in platform.release():
        pytest.skip("a policy kernel runs here")
    out = run(tmp_path, "absent", {"__policy_kernel_grub_defaults": str(tmp_path / "absent.cfg")}, "--check")
    assert out.startswith("rc=0\n"), out[-3000:]
    assert "changed=0" in out, out[-3000:]


@pytest.mark.parametrize("findmnt", ["echo 0f1e2d3c-uuid", "exit 1"])
def test_rollback_reads_the_host_with_the_probe(tmp_path: Path, findmnt: str) -> None:
    # the running release and the bootloader come from probe.yml's one module run (here with GRUB faked), as for
    # policy_kernel_state present: GRUB is recognised by update-grub and grub.cfg alike on both paths; the root
    # file system's UUID, which only installing for GRUB needs, may be unknown
    if "-policy" in platform.release():
        pytest.skip("a policy kernel runs here")
    variables = fake_grub_host(tmp_path, findmnt)
    (tmp_path / "show.yml").write_text("""- name: Show what the rollback read
  hosts: all
  gather_facts: false
  tasks:
    - name: Show
      ansible.builtin.debug:
        msg: "ROLLBACK bootloader={{ policy_kernel_bootloader }} release={{ policy_kernel_release }}"
""")
    (tmp_path / "play.yml").write_text(PLAY.format(tasks="absent"))
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    result = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "show.yml", "-e", json.dumps(variables),
                                  "--check")
    out = result.stdout
    assert result.returncode == 0 and "changed=0" in out, out[-3000:]
    assert out.count("TASK [policygroups.core.policy_kernel : Read the host (virtual machine") == 1, out[-3000:]
    assert f"ROLLBACK bootloader=grub release={platform.release()}" in out, out[-3000:]


def test_a_rollback_stopped_before_update_grub_regenerates_the_menu(tmp_path: Path) -> None:
    # a rollback that removed the policy kernel's files and stopped before update-grub (or whose update-grub failed)
    # left a menu that still boots the removed image: the next run has nothing left to remove, so only the menu the
    # probe read can tell that update-grub must run (before any reboot). In check mode, so that update-grub runs not.
    if "-policy" in platform.release():
        pytest.skip("a policy kernel runs here")
    variables = fake_grub_host(tmp_path, menu=None)
    handler = "RUNNING HANDLER [policygroups.core.policy_kernel : Update the bootloader]"
    entry = "menuentry 'Debian' {{\n\tlinux\t/boot/vmlinuz-{} root=UUID=x ro\n}}\n"
    for menu, stale in ((entry.format(platform.release()), False), (entry.format("6.12.118-policy"), True)):
        (tmp_path / "grub.cfg").write_text(menu)
        out = run(tmp_path, "absent", variables, "--check")
        assert out.startswith("rc=0\n"), out[-3000:]
        assert (handler in out) is stale, out[-3000:]
        assert ("changed=0" in out) is not stale, out[-3000:]


@pytest.mark.parametrize("set_default", [True, False])
def test_no_reboot_into_a_kernel_that_is_not_grubs_default(tmp_path: Path, set_default: bool) -> None:
    # with policy_kernel_set_default false GRUB boots its own default, not the installed kernel: a reboot would come
    # back on the same kernel, on every run; the role reports what boots it instead.
    if "-policy" in platform.release():
        pytest.skip("a policy kernel runs here")
    variables = fake_grub_host(tmp_path) | {"policy_kernel_release": "6.12.118-policy", "policy_kernel_reboot_ok": True,
                                            "policy_kernel_set_default": set_default}
    out = run(tmp_path, "reboot", variables, "--check")
    rebooting = "RUNNING HANDLER [policygroups.core.policy_kernel : Reboot into the policy kernel]" in out
    assert rebooting is set_default, out[-3000:]
    if set_default:  # the handler asks to reboot: ansible.builtin.reboot refuses the control node (local connection)
        assert "would reboot the control node" in out, out[-3000:]
    else:
        assert out.startswith("rc=0\n") and "GRUB boots its own default" in out, out[-3000:]


def test_an_apt_package_that_is_no_policy_kernel_image_is_refused(tmp_path: Path) -> None:
    out = run(tmp_path, "main", {"policy_kernel_apt_package": "linux-image-amd64"}, "--check")
    assert out.startswith("rc=2\n"), out[-3000:]
    assert "policy_kernel_apt_package must name the image package of a policy kernel" in out


def test_an_apt_package_without_a_candidate_changes_nothing(tmp_path: Path, facts: tuple[str, str]) -> None:
    # a policy kernel no apt source of this machine has: apt refuses it, in check mode as in a run
    out = run(tmp_path, "main", {"policy_kernel_apt_package": f"linux-image-{RELEASE}",
                                 "policy_kernel_set_default": False}, "--check")
    assert out.startswith("rc=2\n"), out[-3000:]
    assert "Install the image package from the host's apt sources" in out
    after = out.rsplit("Install the image package from the host's apt sources", maxsplit=1)[-1]
    assert f"linux-image-{RELEASE}" in after


@pytest.mark.parametrize(("name", "kind"), [("grub.cfg", "symbolic link"), ("grub.cfg", "directory"),
                                            ("absent.cfg", "symbolic link")])
def test_no_regular_file_where_the_role_installs_or_reads_one_is_refused(tmp_path: Path, name: str, kind: str) -> None:
    # GRUB's menu or the role's GRUB drop-in as a symbolic link or a directory: installing over it or reading a menu
    # there would act outside what the role manages or fail later with a misleading reason; refused by the probe,
    # before anything changes, with the path and what is there
    variables = fake_grub_host(tmp_path, menu=None if name == "grub.cfg" else "")
    (tmp_path / "target").write_text("someone else's\n")
    path = tmp_path / name
    if kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(tmp_path / "target")
    out = run(tmp_path, "probe", variables)
    assert out.startswith("rc=2\n"), out[-3000:]
    assert f"{path} is a {kind}, not a regular file" in out and "Nothing was changed" in out, out[-3000:]
    assert (tmp_path / "target").read_text() == "someone else's\n"


GRUB_UUID = "0f1e2d3c-uuid"


def grub_menu(release: str, root: str) -> str:
    """A generated GRUB menu whose default is the policy kernel's advanced entry, as update-grub writes it with the
    role's drop-in."""
    entry = f"gnulinux-{release}-advanced-{GRUB_UUID}"
    return (f'### BEGIN /etc/grub.d/00_header ###\nset default="gnulinux-advanced-{GRUB_UUID}>{entry}"\n'
            f"submenu 'Advanced' $menuentry_id_option 'gnulinux-advanced-{GRUB_UUID}' {{\n"
            f"\tmenuentry 'Debian, with Linux {release}' --class debian $menuentry_id_option '{entry}' {{\n"
            f"\t\tlinux\t/vmlinuz-{release} root={root} ro\n\t}}\n}}\n")


def test_check_mode_of_a_new_package_on_a_converged_grub_host(tmp_path: Path) -> None:
    # a rebuild of the same release (packages flavours): check mode reports that it would install it, while the GRUB
    # drop-in and the menu are as wanted, so nothing notifies update-grub. The menu check must then be skipped (the
    # change cannot show in it yet), not fail on the handler's result, which was registered under the name of the
    # role's variable for update-grub's path (a string wherever the handler did not run; here the extra var)
    release = "6.12.118-policy-localmod"
    variables = fake_grub_host(tmp_path, findmnt=f"echo {GRUB_UUID}", menu=grub_menu(release, "UUID=abcd"))
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "update-grub").write_text(f"#!/bin/sh\necho ran >> {tmp_path / 'update-grub.log'}\n")
    (tmp_path / "bin" / "update-grub").chmod(0o755)
    variables["__policy_kernel_update_grub"] = str(tmp_path / "bin" / "update-grub")
    env = sim.ansible_env()
    env["PATH"] = f"{tmp_path / 'bin'}:{env['PATH']}"  # the handler runs update-grub by name
    play = f"""
- name: The GRUB side of the role, with a package it would install
  hosts: all
  gather_facts: false
  tasks:
    - name: Read the build
      ansible.builtin.set_fact:
        __policy_kernel_manifest: {{flavour: localmod}}
        policy_kernel_release: {release}
    - name: Stand for packages.yml's report in check mode
      ansible.builtin.debug:
        msg: would install
      changed_when: "{{{{ ansible_check_mode }}}}"
      register: __policy_kernel_would_install
    - name: Run the probe and the bootloader step
      ansible.builtin.include_role:
        name: policygroups.core.policy_kernel
        tasks_from: "{{{{ item }}}}"
      loop: [probe, bootloader]
"""
    (tmp_path / "play.yml").write_text(play)
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    extra = ["-e", json.dumps(variables)]
    converge = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", *extra, env=env)
    assert converge.returncode == 0, converge.stdout[-3000:]
    assert (tmp_path / "update-grub.log").read_text() == "ran\n"  # the drop-in was written, the menu regenerated
    check = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "--check", *extra, env=env)
    assert check.returncode == 0, check.stdout[-3000:]
    assert "RUNNING HANDLER" not in check.stdout and "changed=1" in check.stdout, check.stdout[-3000:]
    assert (tmp_path / "update-grub.log").read_text() == "ran\n"


@pytest.mark.parametrize(("copied", "probed_sha", "rebooting"), [
    (True, "old-build", True),  # a new build replaced the image
    (True, "this-build", False),  # only the image's (or the configuration's) mode or owner was put back
    (False, "this-build", False),
])
def test_a_new_build_of_the_running_release_is_rebooted_into(tmp_path: Path, copied: bool, probed_sha: str,
                                                             rebooting: bool) -> None:
    # kernel/build.sh names every build of a source version the same (6.12.118-policy), whatever the series: a new
    # build replaces /boot/vmlinuz-<release> of the running release, and only a reboot runs it. The release alone
    # said nothing was pending, so the new build never ran and the ABI of the old one was verified.
    if "-policy" in platform.release():
        pytest.skip("a policy kernel runs here")
    image = f"/boot/vmlinuz-{platform.release()}"
    host = {"release": platform.release(), "bootloader": "grub", "check_mode": True, "contents": {},
            "files": {image: {"sha256": probed_sha, "mode": "0644", "uid": 0, "gid": 0}}, "not_regular": {},
            "virt": "qemu", "vendor": "QEMU", "policy_controller": False, "root_uuid": "0f1e2d3c-uuid"}
    build = {"results": [{"item": "bzImage", "stat": {"checksum": "this-build"}}]}
    variables = fake_grub_host(tmp_path) | {"policy_kernel_release": platform.release(), "policy_kernel_reboot_ok": True,
                                            "manifest": {"flavour": "guest"}, "release": platform.release(),
                                            "__policy_kernel_host": host, "__policy_kernel_build_files": build}

    play = PLAY.format(tasks="reboot").replace("    - name: Run reboot.yml\n", f"""    - name: Stand for main.yml's copy of the image
      ansible.builtin.debug:
        msg: image
      changed_when: {str(copied).lower()}
      register: __policy_kernel_image
    - name: Run reboot.yml
""")
    (tmp_path / "play.yml").write_text(play)
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    out = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "-e", json.dumps(variables), "--check").stdout
    assert ("RUNNING HANDLER [policygroups.core.policy_kernel : Reboot into the policy kernel]" in out) is rebooting, \
        out[-3000:]


@pytest.mark.parametrize(("running", "built", "rebooting"), [
    ("0a1b2c", "3d4e5f", True),  # a run installed this build and stopped before its reboot
    ("3d4e5f", "3d4e5f", False),  # this build runs
    (None, "3d4e5f", False),  # the running kernel's build id cannot be read: the release decides, as before
    ("0a1b2c", None, False),  # a build whose manifest has no build id (built before it was recorded)
])
def test_another_build_of_the_running_release_is_rebooted_into_by_a_later_run(
        tmp_path: Path, running: str | None, built: str | None, rebooting: bool) -> None:
    # a run that installed a new build of the running release and stopped before the reboot (killed, a lost
    # connection, reboot_ok false) left the old build running: the next run copies nothing, so only the build ids
    # tell that the installed kernel does not run. Every build of a source version has the same release.
    if "-policy" in platform.release():
        pytest.skip("a policy kernel runs here")
    image = f"/boot/vmlinuz-{platform.release()}"
    host = {"release": platform.release(), "bootloader": "grub", "check_mode": True, "contents": {},
            "files": {image: {"sha256": "this-build", "mode": "0644", "uid": 0, "gid": 0}}, "not_regular": {},
            "virt": "qemu", "vendor": "QEMU", "policy_controller": True, "root_uuid": "0f1e2d3c-uuid"}
    if running is not None:
        host["running_build_id"] = running
    manifest = {"flavour": "guest"} | ({"build_id": built} if built is not None else {})
    build = {"results": [{"item": "bzImage", "stat": {"checksum": "this-build"}}]}
    variables = fake_grub_host(tmp_path) | {"policy_kernel_release": platform.release(), "policy_kernel_reboot_ok": True,
                                            "__policy_kernel_manifest": manifest, "__policy_kernel_host": host,
                                            "__policy_kernel_build_files": build}
    (tmp_path / "play.yml").write_text(PLAY.format(tasks="reboot"))
    inventory = sim.write_inventory(tmp_path / "inv.json", {"localhost": {"ansible_connection": "local"}}, {})
    out = sim.ansible_playbook(tmp_path, "-i", str(inventory), "play.yml", "-e", json.dumps(variables), "--check").stdout
    assert ("RUNNING HANDLER [policygroups.core.policy_kernel : Reboot into the policy kernel]" in out) is rebooting, \
        out[-3000:]
    if rebooting:
        assert "Rebooting from " + platform.release() + " into the new build of" in out, out[-3000:]


@pytest.mark.parametrize(("bootloader", "others", "why"), [
    ("none", ["vmlinuz-6.1.0-amd64"], "whatever boots this host passes it the kernel"),
    ("grub", [], "no other kernel in {boot} for GRUB to boot"),
])
def test_a_rollback_that_would_not_boot_another_kernel_is_refused(tmp_path: Path, bootloader: str, others: list[str],
                                                                  why: str) -> None:
    # a policy kernel runs (the probe's answer stood in for: this machine runs another); removing it and rebooting
    # must bring up a distribution kernel. Without a bootloader (QEMU -kernel) the reboot comes back on the same
    # image, and with GRUB and no other kernel in /boot nothing would boot at all: refused before any change.
    boot = tmp_path / "boot"
    boot.mkdir()
    for name in ["vmlinuz-6.12.118-policy", *others]:
        (boot / name).write_text("image")
    host = {"release": "6.12.118-policy", "bootloader": bootloader, "check_mode": False, "contents": {}, "files": {},
            "not_regular": {}, "virt": "qemu", "vendor": "QEMU", "policy_controller": True}
    variables = {"__policy_kernel_host": host, "__policy_kernel_boot_dir": str(boot), "policy_kernel_reboot_ok": True,
                 "__policy_kernel_grub_defaults": str(tmp_path / "absent.cfg")}
    out = run(tmp_path, "absent", variables)
    assert out.startswith("rc=2\n"), out[-3000:]
    assert why.format(boot=boot) in out and "Nothing was changed" in out, out[-3000:]
    assert sorted(p.name for p in boot.iterdir()) == sorted(["vmlinuz-6.12.118-policy", *others])
