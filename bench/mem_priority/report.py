"""Report of bench/mem_priority/run.sh: medians per arm, ratios, and plots from the guests' samples.

Reads DIR/<arm>-<rep>.csv (written by guest.sh), writes DIR/report.md and DIR/mem_priority.{png,svg},
prints the report.
"""
from __future__ import annotations

import argparse
import csv
import statistics
from pathlib import Path

ARMS = ("plain", "priority")
# (column, label, how one run is summarised over the pressure phase)
METRICS = (
    ("fg_rss_mb", "service resident at the end (MB)", "last"),
    ("fg_swap_mb", "service swapped at the end (MB)", "last"),
    ("fg_majflt", "service major faults under pressure", "delta"),
    ("bg_rss_mb", "batch resident at the end (MB)", "last"),
    ("bg_swap_mb", "batch swapped at the end (MB)", "last"),
    ("bg_majflt", "batch major faults under pressure", "delta"),
    ("p99_us", "service p99 latency under pressure (us, median of seconds)", "median"),
    ("requests", "service requests per second under pressure (median)", "median"),
    ("psi_some_avg10", "memory PSI some avg10 at the end (%)", "last"),
)


def load(directory: Path) -> dict[str, list[list[dict[str, float]]]]:
    runs: dict[str, list[list[dict[str, float]]]] = {arm: [] for arm in ARMS}
    for arm in ARMS:
        for path in sorted(directory.glob(f"{arm}-*.csv")):
            with path.open(newline="") as handle:
                rows = [{k: float(v) for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(handle)]
            if rows:
                runs[arm].append(rows)
    return runs


def summarise(rows: list[dict[str, float]], column: str, how: str, warmup: float) -> float | None:
    under = [r for r in rows if r["t_s"] >= warmup and column in r]
    if not under:
        return None
    if how == "last":
        return under[-1][column]
    if how == "delta":
        before = [r[column] for r in rows if r["t_s"] < warmup and column in r]
        return under[-1][column] - (before[-1] if before else under[0][column])
    return statistics.median(r[column] for r in under)


def fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}" if abs(value) >= 10 else f"{value:.2f}"


def table(runs: dict[str, list[list[dict[str, float]]]], warmup: float) -> list[str]:
    lines = [
        "| metric | " + " | ".join(f"{arm} (median of {len(runs[arm])}; min-max)" for arm in ARMS)
        + " | priority / plain |",
        "|---|" + "---|" * (len(ARMS) + 1),
    ]
    for column, label, how in METRICS:
        cells, medians = [], []
        for arm in ARMS:
            values = [v for rows in runs[arm] if (v := summarise(rows, column, how, warmup)) is not None]
            median = statistics.median(values) if values else None
            medians.append(median)
            spread = f" ({fmt(min(values))}-{fmt(max(values))})" if len(values) > 1 else ""
            cells.append(fmt(median) + spread)
        plain, prio = medians
        ratio = f"{prio / plain:.2f}" if plain and prio is not None else "n/a"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {ratio} |")
    return lines


def plot(runs: dict[str, list[list[dict[str, float]]]], warmup: float, directory: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = (
        ("rss_mb", "resident (memory.current, MB)"),
        ("swap_mb", "swapped (memory.swap.current, MB)"),
        ("majflt", "major faults (cumulative)"),
        ("p99_us", "service p99 latency (us)"),
    )
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), sharex=True)
    styles = {"plain": "--", "priority": "-"}
    for ax, (key, title) in zip(axes.flat, panels):
        for arm in ARMS:
            for i, rows in enumerate(runs[arm]):
                t = [r["t_s"] for r in rows]
                who = (("fg", "service", "tab:blue"),) if key == "p99_us" else (
                    ("fg", "service", "tab:blue"), ("bg", "batch", "tab:orange"))
                for prefix, name, colour in who:
                    column = key if key == "p99_us" else f"{prefix}_{key}"
                    ys = [r.get(column) for r in rows]
                    ax.plot(t, ys, styles[arm], color=colour, alpha=0.8,
                            label=f"{name}, {arm}" if i == 0 else None)
        ax.axvline(warmup, color="grey", linewidth=0.8)
        ax.set_title(title)
        ax.set_xlabel("seconds (pressure from the grey line)")
        ax.legend(fontsize="small")
    if any(runs[arm] for arm in ARMS):
        axes.flat[3].set_yscale("log")
    fig.suptitle("policy.mem_priority under global pressure: service high, batch low (solid) vs. no priority (dashed)")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(directory / f"mem_priority.{ext}", dpi=100)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before the pressure started")
    args = parser.parse_args()
    runs = load(args.directory)
    report = [
        "# policy.mem_priority under global memory pressure",
        "",
        "A service and a batch job of equal size in two cgroups bound to two policy groups; after the warm-up a",
        "third process takes memory. `plain`: no priority; `priority`: the service's group `high`, the batch",
        "job's `low`. Guest: the reference kernel under QEMU, swap on zram and a disk. Latencies are under",
        "emulation: compare arms, not absolute values.",
        "",
        *table(runs, args.warmup),
        "",
    ]
    if plot(runs, args.warmup, args.directory):
        report += ["![resident, swap, major faults and latency over time](mem_priority.png)", ""]
    else:
        report += ["(no plot: matplotlib is not installed; make setup installs it)", ""]
    text = "\n".join(report)
    (args.directory / "report.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
