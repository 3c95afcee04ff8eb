"""Print the operator-speed numbers of one CI run next to the numbers before that work and its goals.

Usage: .ci/speed.py LOG_DIR STARTS_LOG SINCE TOTAL_SECONDS

LOG_DIR holds the targets' logs as .ci/run writes them (TARGET.log); STARTS_LOG is vm/up.sh's record of
guest starts (.cache/vm/starts.log: "EPOCH NAME SECONDS restored|cold"). Only what was written from SINCE (epoch
seconds, the run's start) on counts: lines of the record, logs modified since. The other numbers are read
from what the test scripts print: the policyfs scenario's steps (scripts/test-vm.sh's stage times), the
demo's rollouts (scripts/demo.sh's wall time per step). A number whose log is missing or older (the target
did not run) is shown as "-". The "before" column is what was measured before the
speed work (an idle machine, except where noted), the goals are the ones set for it; docs/testing-vms.md has
the history. It never fails the run: it reports.
"""

from __future__ import annotations

import re
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

# scripts/test-vm.sh's stage times: "    policyfs: converge            33 s  Successful"
STEP_RE = re.compile(r"^\s+policyfs: (?P<step>[a-z_]+)\s+(?P<secs>[0-9]+) s\s")
SCENARIO_RE = re.compile(r"^\s+molecule policyfs\s+(?P<secs>[0-9]+) s\s")
# scripts/demo.sh's wall time per step: "   205 s  Roll out the kernel and the example policy: ..."
DEMO_STEP_RE = re.compile(r"^\s+(?P<secs>[0-9]+) s  (?P<title>.+)$")
# Molecule steps that prepare or tear down the scenario's guests, not the operator's cycle it tests
POLICYFS_SETUP_STEPS = {"destroy", "syntax", "create", "prepare"}


@dataclass(frozen=True)
class Row:
    what: str
    now: str
    before: str
    goal: str


def read(log_dir: Path, target: str, since: int) -> list[str] | None:
    """The lines of a target's log written by this run (an earlier run's log is kept until the target runs)."""
    path = log_dir / f"{target}.log"
    try:
        if path.stat().st_mtime < since:
            return None
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def guest_starts(starts_log: Path, since: int) -> tuple[list[float], list[float]]:
    """Seconds from the request to SSH of every guest vm/up.sh started since ``since``: (restored, cold)."""
    restored: list[float] = []
    cold: list[float] = []
    try:
        lines = starts_log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return restored, cold
    for line in lines:
        fields = line.split()
        try:
            when, secs = int(fields[0]), float(fields[2])
        except (IndexError, ValueError):
            continue
        if when >= since and fields[3:4] == ["restored"]:
            restored.append(secs)
        elif when >= since and fields[3:4] == ["cold"]:
            cold.append(secs)
    return restored, cold


def spread(values: list[float]) -> str:
    if not values:
        return "-"
    return f"median {statistics.median(values):.1f} s, {min(values):.1f}-{max(values):.1f} s ({len(values)})"


def policyfs(lines: list[str] | None) -> tuple[str, str]:
    """The scenario's wall time and the sum of its steps past create and prepare."""
    if lines is None:
        return "-", "-"
    scenario = "-"
    steps = 0
    seen = False
    for line in lines:
        if match := SCENARIO_RE.match(line):
            scenario = f"{match.group('secs')} s"
        elif (match := STEP_RE.match(line)) and match.group("step") not in POLICYFS_SETUP_STEPS:
            steps += int(match.group("secs"))
            seen = True
    return scenario, (f"{steps} s" if seen else "-")


def demo_step(lines: list[str] | None, prefix: str) -> str:
    if lines is None:
        return "-"
    for line in lines:
        match = DEMO_STEP_RE.match(line)
        if match and match.group("title").startswith(prefix):
            return f"{match.group('secs')} s"
    return "-"


def rows(log_dir: Path, starts_log: Path, since: int, total: int) -> list[Row]:
    restored, cold = guest_starts(starts_log, since)
    scenario, steps = policyfs(read(log_dir, "test-policyfs", since))
    fleet = read(log_dir, "test-fleet", since)
    return [
        Row("CI run, from a clean clone", f"{total} s", "2247 s", "1800 s"),
        Row("guest start from a saved state, asked to ready (SSH)", spread(restored), "35-45 s (every guest booted)",
            "5 s (idle machine)"),
        Row("guest cold boot, asked to SSH (boot lock waits included)", spread(cold), "35-45 s", "-"),
        Row("policyfs scenario, whole", scenario, "711 s (CI, 2026-11-26)", "-"),
        Row("policyfs steps from converge to the last verify", steps, "521 s", "240 s (idle machine)"),
        Row("demo: first rollout, three guests", demo_step(fleet, "Roll out the kernel"), "803 s", "-"),
        Row("demo: second rollout (no change)", demo_step(fleet, "Roll out again"), "283 s", "-"),
    ]


def render(table: list[Row]) -> str:
    head = Row("what", "this run", "before", "goal")
    widths = [max(len(getattr(row, field)) for row in [head, *table]) for field in ("what", "now", "before")]
    out = []
    for row in [head, *table]:
        out.append(f"  {row.what:<{widths[0]}}  {row.now:<{widths[1]}}  {row.before:<{widths[2]}}  {row.goal}")
    return "\n".join(out)


def main(argv: list[str]) -> int:
    if len(argv) != 4 or not argv[2].isdigit() or not argv[3].isdigit():
        print("usage: .ci/speed.py LOG_DIR STARTS_LOG SINCE TOTAL_SECONDS", file=sys.stderr)
        return 2
    print("ci: the operator's cycle, this run against before the speed work (load: two lanes at once)")
    print(render(rows(Path(argv[0]), Path(argv[1]), int(argv[2]), int(argv[3]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
