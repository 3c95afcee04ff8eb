"""Guest side of an experiment (scripts/experiment.py, playbooks/experiment.yml): lay out the cgroups, run the
workloads, sample the guest at a fixed interval, write the samples as CSV.

    python3 sampler.py prepare SPEC.json        create the experiment's cgroups and write the arm's cgroup files
    python3 sampler.py run SPEC.json OUT.csv    start the workloads on their schedule, sample until the end, stop them

SPEC is written by scripts/experiment.py from the experiment file (schemas/experiment.schema.json) and one arm:
``cgroups`` (path -> {file: value}, every arm's containment merged with this arm's files), ``workloads`` (name,
program, memory_mb, cgroup, start_s), ``duration_s``, ``pressure_s`` (when the pressure phase starts),
``interval_s`` and ``binary`` (the memload program). Paths are below /sys/fs/cgroup; nothing outside it is
written, and no symlink is followed there.

One CSV row per sample; columns (cumulative counters are written as read, the report takes differences):
    t_s                              seconds since the first workload started
    psi_some_avg10, psi_full_avg10   /proc/pressure/memory
    swap_<device>_mb                 /proc/swaps, per device (zram0, vdb, ...)
    swapin_<device>_mb, swapout_<device>_mb   the swap device's block statistics (/sys/class/block/DEV/stat,
                                     sectors read and written, cumulative; swap devices are whole devices here)
    <w>_rss_mb, <w>_swap_mb          the workload's cgroup: memory.current, memory.swap.current
    <w>_majflt, <w>_oom_kill         memory.stat pgmajfault, memory.events oom_kill (cumulative)
    <w>_alive                        1 while the workload's process runs
    <w>_requests, <w>_p50_us, <w>_p99_us   a service's last second (empty before its first report)
    <w>_mb_per_s                     a batch job's last second
    group_<g>_covered_mb, group_<g>_members   policy.stat of each policy group, where the kernel has it
"""
from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CGROUP_ROOT = Path("/sys/fs/cgroup")
POLICY_ROOT = CGROUP_ROOT / "policy"
PATH_RE = re.compile(r"^(/[A-Za-z0-9_.@:-]+)+$")
FILE_RE = re.compile(r"^(memory|cpu|io|pids|cgroup)\.[a-z_.]+$")
REPORT_RE = re.compile(r"(\w+)=([0-9.]+)")


def cgroup_dir(path: str) -> Path:
    """The directory of cgroup ``path`` ("/exp/app"): below the cgroup root, no "..", no symlink on the way."""
    if not PATH_RE.match(path) or {".", ".."} & set(path.split("/")):
        raise SystemExit(f"sampler: not a cgroup path: {path!r}")
    target = CGROUP_ROOT
    for part in path.strip("/").split("/"):
        target = target / part
        if target.is_symlink():
            raise SystemExit(f"sampler: {target} is a symlink")
    return target


def write_file(directory: Path, name: str, value: str) -> None:
    if not FILE_RE.match(name):
        raise SystemExit(f"sampler: not a cgroup file: {name!r}")
    fd = os.open(directory / name, os.O_WRONLY | os.O_NOFOLLOW)
    try:
        os.write(fd, str(value).encode())
    except OSError as exc:
        raise SystemExit(f"sampler: writing {value!r} to {directory / name}: {exc.strerror}") from exc
    finally:
        os.close(fd)


def mount_policy() -> bool:
    """Mount the policy hierarchy where the kernel has one (the reference kernel) and nothing is mounted yet, as
    the policy_kernel role's unit does; whether it is there."""
    if (POLICY_ROOT / "policy.features").exists():
        return True
    if "policy" not in Path("/proc/cgroups").read_text().split():
        return False
    POLICY_ROOT.mkdir(exist_ok=True)
    subprocess.run(["mount", "-t", "cgroup", "-o", "policy", "none", str(POLICY_ROOT)], check=True)
    return True


def prepare(spec: dict[str, Any]) -> None:
    """Mount the policy hierarchy (where there is one), create every cgroup of the experiment (ancestors first,
    memory controller enabled down to it), then write each cgroup's files in the order given."""
    policy = mount_policy()
    paths = sorted(spec["cgroups"], key=lambda p: (p.count("/"), p))
    for path in paths:
        parent = CGROUP_ROOT
        for part in cgroup_dir(path).relative_to(CGROUP_ROOT).parts:  # checked whole before anything is made
            enable_memory(parent)
            parent = parent / part
            parent.mkdir(exist_ok=True)
    for path in paths:
        for name, value in spec["cgroups"][path].items():
            write_file(cgroup_dir(path), name, value)
    print(json.dumps({"cgroups": paths, "policy_hierarchy": policy}))


def enable_memory(directory: Path) -> None:
    if "memory" not in (directory / "cgroup.subtree_control").read_text().split():
        write_file(directory, "cgroup.subtree_control", "+memory")


def read_int(path: Path, key: str | None = None) -> int | None:
    """A single-value file, or one key of a flat-keyed file; None when it cannot be read."""
    try:
        text = path.read_text()
    except OSError:
        return None
    if key is None:
        value = text.strip()
        return None if value == "max" else int(value)
    for line in text.splitlines():
        name, _sep, value = line.partition(" ")
        if name == key:
            return int(value)
    return None


def mb(value: int | None) -> str:
    return "" if value is None else f"{value / 1048576:.1f}"


def psi() -> dict[str, str]:
    values = {"psi_some_avg10": "", "psi_full_avg10": ""}
    try:
        for line in Path("/proc/pressure/memory").read_text().splitlines():
            kind, _sep, rest = line.partition(" ")
            fields = dict(item.split("=") for item in rest.split())
            values[f"psi_{kind}_avg10"] = fields["avg10"]
    except OSError:
        pass
    return values


def swap_io(devices: list[str]) -> dict[str, str]:
    """MB read from and written to each swap device so far: swap-ins and swap-outs per device. /proc/vmstat's
    pswpin/pswpout are global and absent without CONFIG_VM_EVENT_COUNTERS; block statistics are per device."""
    values = {}
    for name in devices:
        try:
            fields = (Path("/sys/class/block") / name / "stat").read_text().split()
        except OSError:
            continue  # a swap file: no block device of its own
        values[f"swapin_{name}_mb"] = f"{int(fields[2]) * 512 / 1048576:.1f}"
        values[f"swapout_{name}_mb"] = f"{int(fields[6]) * 512 / 1048576:.1f}"
    return values


def swaps() -> dict[str, str]:
    """Used swap per device (KiB in /proc/swaps), by the device's base name."""
    values = {}
    for line in Path("/proc/swaps").read_text().splitlines()[1:]:
        fields = line.split()
        values[f"swap_{Path(fields[0]).name}_mb"] = f"{int(fields[3]) / 1024:.1f}"
    return values


def groups() -> dict[str, str]:
    values: dict[str, str] = {}
    if not POLICY_ROOT.is_dir():
        return values
    for directory in sorted(p for p in POLICY_ROOT.iterdir() if p.is_dir() and not p.is_symlink()):
        stat = directory / "policy.stat"
        if not stat.exists():
            continue
        values[f"group_{directory.name}_covered_mb"] = mb(read_int(stat, "covered_bytes"))
        members = read_int(stat, "members")
        values[f"group_{directory.name}_members"] = "" if members is None else str(members)
    return values


def last_report(path: Path) -> dict[str, str]:
    """The workload's last complete line: "t=3 requests=812 p50_us=90 p99_us=410" -> {requests: 812, ...}."""
    try:
        lines = path.read_text().split("\n")[:-1]  # a line being written has no newline yet
    except OSError:
        return {}
    for line in reversed(lines):
        if line.startswith("t="):
            return {key: value for key, value in REPORT_RE.findall(line) if key != "t"}
    return {}


REPORT_COLUMNS = {"service": ("requests", "p50_us", "p99_us"), "batch": ("mb_per_s",), "hold": ()}


class Workload:
    def __init__(self, spec: dict[str, Any], binary: str, outdir: Path) -> None:
        self.name: str = spec["name"]
        self.program: str = spec["program"]
        self.memory_mb: int = spec["memory_mb"]
        self.start_s: float = spec["start_s"]
        self.directory = cgroup_dir(spec["cgroup"])
        self.binary = binary
        self.output = outdir / f"{self.name}.out"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        procs = self.directory / "cgroup.procs"

        def join() -> None:  # in the child, before exec: the workload starts inside its cgroup
            fd = os.open(procs, os.O_WRONLY | os.O_NOFOLLOW)
            os.write(fd, b"0")
            os.close(fd)

        with self.output.open("wb") as out:
            self.process = subprocess.Popen([self.binary, self.program, str(self.memory_mb)],
                                            stdout=out, stderr=subprocess.STDOUT, preexec_fn=join)

    def sample(self) -> dict[str, str]:
        d, n = self.directory, self.name
        values = {
            f"{n}_rss_mb": mb(read_int(d / "memory.current")),
            f"{n}_swap_mb": mb(read_int(d / "memory.swap.current")),
            f"{n}_majflt": str(read_int(d / "memory.stat", "pgmajfault") or 0),
            f"{n}_oom_kill": str(read_int(d / "memory.events", "oom_kill") or 0),
            f"{n}_alive": "1" if self.process is not None and self.process.poll() is None else "0",
        }
        report = last_report(self.output) if self.process is not None else {}
        for key in REPORT_COLUMNS[self.program]:
            values[f"{n}_{key}"] = report.get(key, "")
        return values

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def run(spec: dict[str, Any], out_path: Path) -> None:
    outdir = out_path.parent
    workloads = [Workload(w, spec["binary"], outdir) for w in spec["workloads"]]
    interval = float(spec["interval_s"])
    duration = float(spec["duration_s"])
    stop = False

    def on_signal(_signum: int, _frame: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    subprocess.run(["sync"], check=False)
    Path("/proc/sys/vm/drop_caches").write_text("3")
    start = time.monotonic()
    rows: list[dict[str, str]] = []
    fields: list[str] = []
    try:
        tick = 0
        while not stop:
            t = time.monotonic() - start
            for w in workloads:
                if w.process is None and t >= w.start_s:
                    w.start()
            if tick:
                used = swaps()
                row = {"t_s": f"{t:.1f}", **psi(), **used,
                       **swap_io([k[len("swap_"):-len("_mb")] for k in used])}
                for w in workloads:
                    row.update(w.sample())
                row.update(groups())
                rows.append(row)
                fields.extend(k for k in row if k not in fields)
                states = " ".join(f"{w.name}={'up' if row[w.name + '_alive'] == '1' else 'down'}" for w in workloads)
                print(f"t={t:.0f}s {states}", file=sys.stderr, flush=True)
            if t >= duration:
                break
            tick += 1
            time.sleep(max(0.0, start + tick * interval - time.monotonic()))
    finally:
        for w in workloads:
            w.stop()
    with out_path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(json.dumps({"samples": len(rows), "columns": len(fields), "out": str(out_path)}))


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] not in ("prepare", "run") or (argv[1] == "run") != (len(argv) == 4):
        raise SystemExit("usage: sampler.py prepare SPEC.json | sampler.py run SPEC.json OUT.csv")
    spec = json.loads(Path(argv[2]).read_text())
    if argv[1] == "prepare":
        prepare(spec)
    else:
        run(spec, Path(argv[3]))


if __name__ == "__main__":
    main(sys.argv)
