"""The report of an experiment run (scripts/experiment.py): per arm the median and spread of each metric over the
repetitions, ratios against the first arm, findings, plots (PNG and SVG) and the raw samples as one CSV.

    python experiments/report.py OUT_DIR        (re-make the report from OUT_DIR/raw/*.csv and OUT_DIR/run.json)

Writes OUT_DIR/report.md, OUT_DIR/experiment.png, OUT_DIR/experiment.svg and OUT_DIR/samples.csv.
"""
from __future__ import annotations

import csv
import json
import math
import re
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Rows = list[dict[str, float]]


@dataclass(frozen=True)
class Metric:
    column: str
    label: str
    how: str  # last: the value at the end; delta: growth under pressure; median: over the pressure phase
    better: str | None  # "lower", "higher" or None (shown, not judged)
    unit: str = ""


def metrics(workloads: Sequence[dict[str, Any]], devices: Iterable[str]) -> list[Metric]:
    """What is summarised, for the experiment's workloads and the swap devices the samples have."""
    found: list[Metric] = []
    for w in workloads:
        n = w["name"]
        if w["program"] == "service":
            found += [
                Metric(f"{n}_p99_us", f"{n}: p99 latency under pressure (median of seconds)", "median", "lower", "us"),
                Metric(f"{n}_p50_us", f"{n}: p50 latency under pressure (median of seconds)", "median", "lower", "us"),
                Metric(f"{n}_requests", f"{n}: requests a second under pressure (median)", "median", "higher"),
            ]
        if w["program"] == "batch":
            found.append(Metric(f"{n}_mb_per_s", f"{n}: MB swept a second under pressure (median)", "median",
                                "higher", "MB/s"))
        found += [
            Metric(f"{n}_majflt", f"{n}: major faults under pressure", "delta", "lower"),
            Metric(f"{n}_oom_kill", f"{n}: OOM kills", "delta_all", "lower"),
            Metric(f"{n}_alive", f"{n}: running at the end (1 = yes)", "last", "higher"),
            Metric(f"{n}_rss_mb", f"{n}: resident at the end", "last", None, "MB"),
            Metric(f"{n}_swap_mb", f"{n}: swapped at the end", "last", None, "MB"),
        ]
    for device in devices:
        found += [
            Metric(f"swap_{device}_mb", f"swap used on {device} at the end", "last", None, "MB"),
            Metric(f"swapout_{device}_mb", f"swapped out to {device} under pressure", "delta", None, "MB"),
            Metric(f"swapin_{device}_mb", f"swapped in from {device} under pressure", "delta", None, "MB"),
        ]
    found += [
        Metric("psi_some_avg10", "memory pressure, some avg10 (median under pressure)", "median", "lower", "%"),
        Metric("psi_full_avg10", "memory pressure, full avg10 (median under pressure)", "median", "lower", "%"),
    ]
    return found


def load(out: Path, arms: Sequence[str]) -> dict[str, list[Rows]]:
    runs: dict[str, list[Rows]] = {arm: [] for arm in arms}
    for arm in arms:
        # ARM-N.csv exactly: arm "cgroups" must not take the runs of arm "cgroups-swap"
        mine = [p for p in (out / "raw").glob("*.csv") if re.fullmatch(re.escape(arm) + r"-[0-9]+", p.stem)]
        for path in sorted(mine, key=lambda p: int(p.stem.rsplit("-", 1)[1])):
            with path.open(newline="") as handle:
                rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]
            if rows:
                runs[arm].append(rows)
    return runs


def summarise(rows: Rows, metric: Metric, pressure_at: float) -> float | None:
    column = metric.column
    present = [r for r in rows if column in r]
    under = [r for r in present if r["t_s"] >= pressure_at]
    if metric.how == "delta_all":
        return present[-1][column] - present[0][column] if present else None
    if not under:
        return None
    if metric.how == "last":
        return under[-1][column]
    if metric.how == "delta":
        before = [r[column] for r in present if r["t_s"] < pressure_at]
        return under[-1][column] - (before[-1] if before else under[0][column])
    return statistics.median(r[column] for r in under)


def fmt(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def ratio(value: float | None, base: float | None) -> str:
    if value is None or base is None:
        return "n/a"
    if base == 0:
        return "=" if value == 0 else "n/a (baseline 0)"
    return f"{value / base:.2f}x"


def summaries(runs: dict[str, list[Rows]], found: list[Metric], pressure_at: float
              ) -> dict[str, dict[str, list[float]]]:
    """metric column -> arm -> one value per run."""
    return {
        m.column: {arm: [v for rows in arm_runs if (v := summarise(rows, m, pressure_at)) is not None]
                   for arm, arm_runs in runs.items()}
        for m in found
    }


def table(found: list[Metric], values: dict[str, dict[str, list[float]]], arms: Sequence[str]) -> list[str]:
    base = arms[0]
    head = ["metric", *(f"{arm}" for arm in arms), *(f"{arm} / {base}" for arm in arms[1:])]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for m in found:
        per_arm = values[m.column]
        if not any(per_arm.values()):
            continue
        medians = {arm: statistics.median(v) if v else None for arm, v in per_arm.items()}
        cells = []
        for arm in arms:
            v = per_arm[arm]
            spread = f" ({fmt(min(v))}-{fmt(max(v))})" if len(v) > 1 else ""
            cells.append(fmt(medians[arm]) + spread)
        unit = f" ({m.unit})" if m.unit else ""
        lines.append(f"| {m.label}{unit} | " + " | ".join(cells) + " | "
                     + " | ".join(ratio(medians[arm], medians[base]) for arm in arms[1:]) + " |")
    return lines


def findings(found: list[Metric], values: dict[str, dict[str, list[float]]], arms: Sequence[str],
             workloads: Sequence[dict[str, Any]]) -> list[str]:
    """Sentences the numbers support: which workloads did not survive, then which arm did best on each judged
    metric and by how much against the baseline. An arm that lost a workload (killed, or not running at the end)
    is not compared on that workload's metrics, nor on the host's (PSI, swap): less work is not a better result."""
    out: list[str] = []
    lost: dict[str, set[str]] = {}  # workload -> arms that lost it in some run
    for w in workloads:
        name = w["name"]
        kills = values.get(f"{name}_oom_kill", {})
        for arm in arms:
            runs = kills.get(arm, [])
            killed = sum(1 for v in runs if v > 0)
            if killed:
                out.append(f"- In arm `{arm}` the OOM killer hit `{name}` in {killed} of {len(runs)} runs.")
            if killed or any(v == 0 for v in values.get(f"{name}_alive", {}).get(arm, [])):
                lost.setdefault(name, set()).add(arm)
    every_loss = set().union(*lost.values()) if lost else set()
    if every_loss:
        out.append("- Not compared below, as they lost a workload: " + ", ".join(f"`{a}`" for a in arms if a in every_loss)
                   + " (on that workload's metrics and on the host's).")
    for m in found:
        if m.better is None or m.how == "delta_all" or m.column.endswith("_alive"):
            continue
        owner = next((w["name"] for w in workloads if m.column.startswith(w["name"] + "_")), None)
        excluded = lost.get(owner, set()) if owner else every_loss
        medians = {arm: statistics.median(v) for arm, v in values[m.column].items() if v and arm not in excluded}
        if len(medians) < 2:
            continue
        pick = min if m.better == "lower" else max
        best = pick(medians, key=lambda arm: medians[arm])
        worst = (max if m.better == "lower" else min)(medians, key=lambda arm: medians[arm])
        if medians[best] == medians[worst]:
            out.append(f"- {m.label}: the same in every arm ({fmt(medians[best])}).")
            continue
        spread = {arm: (min(values[m.column][arm]), max(values[m.column][arm])) for arm in medians}
        overlap = any(spread[arm][0] <= spread[best][1] and spread[best][0] <= spread[arm][1]
                      for arm in medians if arm != best)
        base = arms[0]
        versus = "" if best == base or base not in medians else f"; baseline `{base}` {fmt(medians[base])}" \
            f" ({ratio(medians[best], medians[base])} of it)"
        out.append(f"- {m.label}: best `{best}` ({fmt(medians[best])}{' ' + m.unit if m.unit else ''}){versus}"
                   + ("; the runs' ranges overlap, so the difference is within the spread." if overlap else "."))
    return out


PALETTE = ("tab:grey", "tab:orange", "tab:blue", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink")
STYLES = ("-", "--", ":", "-.")


def plot(runs: dict[str, list[Rows]], workloads: Sequence[dict[str, Any]], devices: Sequence[str],
         pressure_at: float, out: Path, title: str) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    services = [w["name"] for w in workloads if w["program"] == "service"]
    batches = [w["name"] for w in workloads if w["program"] == "batch"]
    names = [w["name"] for w in workloads]
    # (title, [(column, series label)], log scale)
    panels: list[tuple[str, list[tuple[str, str]], bool]] = [
        *((f"{s}: latency percentiles (us)", [(f"{s}_p99_us", "p99"), (f"{s}_p50_us", "p50")], True)
          for s in services),
        *((f"{b}: MB swept a second", [(f"{b}_mb_per_s", b)], False) for b in batches),
        ("swap used per device (MB)", [(f"swap_{d}_mb", d) for d in devices], False),
        ("swapped in per device since the start (MB)", [(f"swapin_{d}_mb", d) for d in devices], False),
        ("swapped per workload (memory.swap.current, MB)", [(f"{n}_swap_mb", n) for n in names], False),
        ("resident per workload (memory.current, MB)", [(f"{n}_rss_mb", n) for n in names], False),
        ("memory pressure, PSI avg10 (%)", [("psi_some_avg10", "some"), ("psi_full_avg10", "full")], False),
    ]
    cols = 2
    rows_n = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(13, 3.6 * rows_n), squeeze=False)
    arms = list(runs)
    for ax, (panel_title, series, log) in zip(axes.flat, panels):
        drawn = False
        for a, arm in enumerate(arms):
            for r, rows in enumerate(runs[arm]):
                t = [row["t_s"] for row in rows]
                for s, (column, label) in enumerate(series):
                    ys = [row.get(column, float("nan")) for row in rows]
                    if all(math.isnan(y) for y in ys):  # no value at all
                        continue
                    name = f"{arm}" + (f", {label}" if len(series) > 1 else "")
                    ax.plot(t, ys, STYLES[s % len(STYLES)], color=PALETTE[a % len(PALETTE)],
                            alpha=0.85 if r == 0 else 0.35, linewidth=1.4 if r == 0 else 0.9,
                            label=name if r == 0 else None)
                    drawn = True
        ax.axvline(pressure_at, color="black", linewidth=0.7, linestyle=":")
        ax.set_title(panel_title, fontsize="medium")
        ax.set_xlabel("seconds (pressure from the dotted line)")
        if log and drawn:
            ax.set_yscale("log")
        if drawn:
            ax.legend(fontsize="x-small", ncol=2)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(title + " (each arm one colour; the first run bold, the others faint)")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(out / f"experiment.{ext}", dpi=90)
    plt.close(fig)
    return True


def write_samples(runs: dict[str, list[Rows]], out: Path) -> None:
    """Every run's samples in one CSV (arm, repetition, then the sampler's columns), to re-plot elsewhere."""
    columns: list[str] = []
    for arm_runs in runs.values():
        for rows in arm_runs:
            for row in rows:
                columns.extend(k for k in row if k not in columns)
    with (out / "samples.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["arm", "repetition", *columns], restval="", lineterminator="\n")
        writer.writeheader()
        for arm, arm_runs in runs.items():
            for i, rows in enumerate(arm_runs, 1):
                for row in rows:
                    writer.writerow({"arm": arm, "repetition": i, **{k: f"{v:g}" for k, v in row.items()}})


def fenced(text: str, lang: str = "yaml") -> list[str]:
    return [f"```{lang}", text.rstrip("\n"), "```"]


def report(out: Path) -> str:
    meta = json.loads((out / "run.json").read_text())
    exp = meta["experiment"]
    arms = [arm["name"] for arm in exp["arms"]]
    pressure_at = float(meta["phases"]["warmup_s"])
    runs = load(out, arms)
    devices = sorted({k[len("swap_"):-len("_mb")] for arm_runs in runs.values() for rows in arm_runs
                      for row in rows for k in row if k.startswith("swap_") and k.endswith("_mb")})
    found = metrics(exp["workloads"], devices)
    values = summaries(runs, found, pressure_at)
    done = {arm: len(arm_runs) for arm, arm_runs in runs.items()}
    write_samples(runs, out)
    plotted = plot(runs, exp["workloads"], devices, pressure_at, out, f"experiment {exp['name']}")
    guest, phases = meta["guest"], meta["phases"]
    lines = [
        f"# Experiment `{exp['name']}`" + (" (quick run)" if meta.get("quick") else ""),
        "",
        exp["question"].strip(),
        "",
        "## Setup",
        "",
        f"- Kernel: the reference kernel, build `{meta['kernel']}` (kernel/build.sh), in a QEMU guest "
        f"({meta['accel']}) with {guest['memory_mb']} MB and {guest['cpus']} CPUs.",
        f"- Swap: zram0 ({guest['zram_mb']} MB, priority 100, the fast tier) and a 1 GiB disk (priority 10, the "
        "slow tier" + (f", limited to {guest['slow_swap_iops']} operations a second" if guest.get("slow_swap_iops")
                       else "") + ").",
        f"- Each run: {phases['warmup_s']} s warm-up, then {phases['pressure_s']} s of pressure, sampled every "
        f"{phases['interval_s']} s; {meta['repetitions']} repetition(s) per arm, arms alternating, each run in a "
        "freshly started guest. Runs done: " + ", ".join(f"`{arm}` {n}" for arm, n in done.items()) + ".",
        f"- Experiment file: `{meta['file']}` (as run: `experiment.yml` and `fleet-ARM.yml` here).",
        "",
        "| workload | program | memory | cgroup | starts |",
        "|---|---|---|---|---|",
        *(f"| {w['name']} | {w['program']} | {w['memory_mb']} MB | `{w['cgroup']}` | "
          f"{'with the pressure' if w.get('start') == 'pressure' else 'at the start'} |" for w in exp["workloads"]),
        "",
        "Every arm's cgroups: " + (", ".join(f"`{p}` {' '.join(f'{k}={v}' for k, v in f.items())}".rstrip()
                                             for p, f in exp.get("cgroups", {}).items()) or "none") + ".",
        "",
        "| arm | what it sets |",
        "|---|---|",
    ]
    for arm in exp["arms"]:
        sets = [f"`{p}` " + " ".join(f"{k}={v}" for k, v in f.items()) for p, f in arm.get("cgroup_files", {}).items()]
        if arm.get("fleet"):
            sets.append(f"fleet document `{arm['fleet']}` (below)")
        lines.append(f"| {arm['name']} | {arm.get('description', '')}{': ' if sets else ''}{'; '.join(sets)} |")
    for arm in exp["arms"]:
        if arm.get("fleet"):
            lines += ["", f"Fleet document of `{arm['name']}`:", "", *fenced(meta["fleets"][arm["name"]])]
    lines += ["", "## Results", "", f"Median of the runs per arm (min-max when more than one); ratios against "
              f"`{arms[0]}`.", "", *table(found, values, arms), ""]
    if plotted:
        lines += ["![latency, throughput, swap per device and per workload, resident memory, PSI over time]"
                  "(experiment.png)", ""]
    else:
        lines += ["(no plots: matplotlib is not installed; make setup installs it)", ""]
    lines += ["## What the numbers show", "", *findings(found, values, arms, exp["workloads"]), "",
              "## What they do not show", ""]
    lines += [f"- {c.strip()}" for c in exp.get("caveats", [])]
    fewest = min(done.values()) if done else 0
    lines += [f"- {fewest} run(s) per arm at the least: a difference smaller than the spread between runs is not "
              "a finding.", "- Per-device swap is the whole guest's (/proc/swaps); per workload only the total "
              "(memory.swap.current) is known.", "",
              "## Files", "",
              "- `samples.csv`: every sample of every run (arm, repetition, then the sampler's columns: "
              "experiments/sampler.py lists them); `raw/ARM-N.csv` per run.",
              "- `experiment.png`, `experiment.svg`: the plots; `run.json`: the settings and the runs' timings.", ""]
    text = "\n".join(lines)
    (out / "report.md").write_text(text)
    return text


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit("usage: report.py OUT_DIR")
    print(report(Path(argv[1])))


if __name__ == "__main__":
    main(sys.argv)
