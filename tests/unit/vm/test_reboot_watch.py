"""vm/reboot-watch.sh and vm/console-check.sh: a guest's reboot, with a stand-in for QEMU.

The stand-in (a ``qemu-system-x86_64`` first on PATH) daemonises as QEMU does with -daemonize: it writes the
-pidfile, appends the console text of its turn in a plan to the -chardev file and stays up until it is killed.
What these tests check is the harness's decisions: a boot that ends in an emulator oops before init is powered
off and started once more; any other panic, or a second oops, is left for the waiting test to see.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
POWER_CYCLED = "reboot-watch: power-cycled after an emulator oops in early boot"

FAKE_QEMU = r"""#!/usr/bin/env python3
import os, sys, time
args = sys.argv[1:]
pidfile = args[args.index("-pidfile") + 1]
chardev = next(a for a in args if a.startswith("file,id=console,"))
console = dict(kv.split("=", 1) for kv in chardev.split(",") if "=" in kv)["path"]
plan = os.environ["FAKE_QEMU_PLAN"]
starts = os.path.join(plan, "starts")
turn = len(open(starts).read().split()) + 1 if os.path.exists(starts) else 1
with open(starts, "a") as handle:
    handle.write(f"{turn}\n")
text = open(os.path.join(plan, str(turn))).read() if os.path.exists(os.path.join(plan, str(turn))) else ""
child = os.fork()
if child:  # as QEMU's -daemonize: the caller returns once the daemon's pid is in the pid file
    for _ in range(200):
        if os.path.exists(pidfile) and open(pidfile).read().strip() == str(child):
            sys.exit(0)
        time.sleep(0.05)
    sys.exit(1)
os.setsid()
devnull = os.open(os.devnull, os.O_RDWR)
for fd in (0, 1, 2):
    os.dup2(devnull, fd)
with open(os.path.join(plan, "pids"), "a") as handle:
    handle.write(f"{os.getpid()}\n")
with open(pidfile + ".tmp", "w") as handle:
    handle.write(f"{os.getpid()}\n")
os.replace(pidfile + ".tmp", pidfile)
with open(console, "a") as handle:
    handle.write(text)
while True:
    time.sleep(1)
"""

BOOT = "[    0.000000] Linux version 6.12.118-policy\n[    1.200000] Run /sbin/init as init process\n"
EMULATOR_OOPS = (
    "[    0.000000] Linux version 6.12.118-policy\n"
    "[    0.900000] sched_clock: Marking stable (900000, 0)->(910000, -10000)\n"
    "[    0.910000] Oops: int3: 0000 [#1] PREEMPT SMP NOPTI\n"
    "[    0.910100] RIP: 0010:sched_clock_cpu+0x10/0x1a0\n"
    "[    0.911000] Kernel panic - not syncing: Fatal exception in interrupt\n"
    "[    0.912000] ---[ end Kernel panic - not syncing: Fatal exception in interrupt ]---\n"
)
KERNEL_BUG = (
    "[    0.000000] Linux version 6.12.118-policy\n"
    "[    2.000000] Run /sbin/init as init process\n"
    "[    3.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
    "[    3.100000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009\n"
)


class Guest:
    """A guest directory as vm/up.sh leaves it, in a copy of the harness, with the stand-in QEMU on PATH."""

    def __init__(self, root: Path, name: str = "g1") -> None:
        self.root = root
        self.name = name
        for rel in ("vm/reboot-watch.sh", "vm/console-check.sh", "vm/lib.sh", "scripts/lib/apt.sh"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, root / rel)
        self.dir = root / ".cache" / "vm" / "guests" / name
        self.dir.mkdir(parents=True)
        self.console = self.dir / "console.log"
        self.plan = root / "plan"
        self.plan.mkdir()
        fakebin = root / "bin"
        fakebin.mkdir()
        (fakebin / "qemu-system-x86_64").write_text(FAKE_QEMU)
        (fakebin / "qemu-system-x86_64").chmod(0o755)
        self.env = {**os.environ, "PATH": f"{fakebin}:{os.environ['PATH']}", "FAKE_QEMU_PLAN": str(self.plan)}
        args = ["-pidfile", str(self.dir / "qemu.pid"), "-chardev", f"file,id=console,path={self.console},append=on"]
        (self.dir / "qemu.args").write_bytes(b"".join(a.encode() + b"\0" for a in args))
        self.console.write_text("")
        self.watcher: subprocess.Popen[bytes] | None = None

    def boots(self, *texts: str) -> None:
        """The console text of each QEMU start, in order (the first is the guest's first boot)."""
        for turn, text in enumerate(texts, start=1):
            (self.plan / str(turn)).write_text(text)

    def start(self) -> None:
        subprocess.run(["qemu-system-x86_64", "-name", self.name, *self.args()], env=self.env, check=True)
        (self.dir / "guest.env").write_text(f"NAME={self.name}\nPID={self.pid()}\n")
        self.watcher = subprocess.Popen(
            [str(self.root / "vm" / "reboot-watch.sh"), self.name], env=self.env, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for((self.dir / "reboot-watch.pid").exists, "the watcher's pid file")

    def args(self) -> list[str]:
        return [a.decode() for a in (self.dir / "qemu.args").read_bytes().split(b"\0") if a]

    def pid(self) -> int:
        return int((self.dir / "qemu.pid").read_text())

    def starts(self) -> int:
        path = self.plan / "starts"
        return len(path.read_text().split()) if path.exists() else 0

    def reboot(self) -> None:
        """What a guest's reboot looks like from outside: the kernel's last line, then QEMU exits (-no-reboot)."""
        with self.console.open("a") as handle:
            handle.write("[   60.000000] reboot: Restarting system\n")
        os.kill(self.pid(), signal.SIGTERM)

    def check(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.root / "vm" / "console-check.sh"), self.name], env=self.env, capture_output=True, text=True,
            check=False,
        )

    def stop(self) -> None:
        if self.watcher is not None:
            with contextlib.suppress(OSError):
                os.killpg(self.watcher.pid, signal.SIGKILL)
            self.watcher.wait()
        pids = (self.plan / "pids").read_text().split() if (self.plan / "pids").exists() else []
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(int(pid), signal.SIGKILL)


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture
def guest(tmp_path: Path) -> Iterator[Guest]:
    g = Guest(tmp_path)
    try:
        yield g
    finally:
        g.stop()


def test_an_emulator_oops_after_a_reboot_is_powered_off_and_booted_again(guest: Guest) -> None:
    guest.boots(BOOT, EMULATOR_OOPS, BOOT)
    guest.start()
    guest.reboot()
    wait_for((guest.dir / "reboots.log").exists, "the reboot to be recorded")
    assert guest.starts() == 3
    console = guest.console.read_text()
    assert console.count(POWER_CYCLED) == 1
    assert console.index("Oops: int3") < console.index(POWER_CYCLED) < console.rindex("as init process")
    assert "reboot-watch.sh:" not in console
    kept = list((guest.root / ".cache" / "vm" / "panics").glob("g1-*.log"))
    assert len(kept) == 1 and "Oops: int3" in kept[0].read_text()
    os.kill(guest.pid(), 0)  # the machine started the third time runs
    assert f"PID={guest.pid()}" in (guest.dir / "guest.env").read_text()
    result = guest.check()
    assert result.returncode == 0, result.stdout


def test_any_other_panic_after_a_reboot_is_left_for_the_test(guest: Guest) -> None:
    guest.boots(BOOT, KERNEL_BUG, BOOT)
    guest.start()
    guest.reboot()
    wait_for((guest.dir / "reboots.log").exists, "the watcher to be done with the boot")  # after its decision
    assert "Attempted to kill init" in guest.console.read_text()
    assert guest.starts() == 2
    assert POWER_CYCLED not in guest.console.read_text()
    result = guest.check()
    assert result.returncode == 1
    first, *excerpt = result.stdout.splitlines()
    assert first == "kernel panic: [    3.100000] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000009"
    assert any("NULL pointer dereference" in line for line in excerpt)


def test_a_second_emulator_oops_leaves_the_guest_down(guest: Guest) -> None:
    guest.boots(BOOT, EMULATOR_OOPS, EMULATOR_OOPS, BOOT)
    guest.start()
    guest.reboot()
    wait_for(lambda: "reboot-watch.sh:" in guest.console.read_text(), "the watcher to give up")
    assert guest.starts() == 3
    result = guest.check()
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith("reboot-watch.sh: an emulator oops in early boot again")


def test_console_check_waits_out_an_oops_only_while_a_watcher_runs(guest: Guest) -> None:
    guest.console.write_text(BOOT + "[   60.000000] reboot: Restarting system\n" + EMULATOR_OOPS)
    result = guest.check()
    assert result.returncode == 1  # no watcher: nobody starts the machine again
    assert result.stdout.startswith("kernel panic: [    0.911000] Kernel panic - not syncing: Fatal exception")
    # a recorded pid that another process has by now (pid reuse) is no watcher
    other = subprocess.Popen(["sleep", "30"])
    # a process with the watcher's command line stands for it (the real one would power-cycle the guest)
    watcher = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)", str(guest.root / "vm" / "reboot-watch.sh"), guest.name]
    )
    try:
        (guest.dir / "reboot-watch.pid").write_text(f"{other.pid}\n")
        assert guest.check().returncode == 1
        (guest.dir / "reboot-watch.pid").write_text(f"{watcher.pid}\n")
        assert guest.check().returncode == 0  # the watcher will power-cycle it
        guest.console.write_text(BOOT + "[   60.000000] reboot: Restarting system\n" + KERNEL_BUG)
        assert guest.check().returncode == 1  # not the emulator's
    finally:
        for process in (other, watcher):
            process.kill()
            process.wait()


def test_console_check_counts_a_panic_in_an_earlier_boot(guest: Guest) -> None:
    guest.console.write_text(KERNEL_BUG + "[   60.000000] reboot: Restarting system\n" + BOOT)
    assert guest.check().returncode == 1
    guest.console.write_text(BOOT + "[   60.000000] reboot: Restarting system\n" + EMULATOR_OOPS + POWER_CYCLED + "\n" + BOOT)
    assert guest.check().returncode == 0
    guest.console.write_text("")
    assert guest.check().returncode == 0
