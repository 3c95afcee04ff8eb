"""Plot bench/swapout results: the median MiB/s (or guest instructions per page) of each boot per case, with each
boot's min-max range, and the mean per case as a line, so the spread between boots shows next to the differences
between kernels.

Usage: python3 bench/swapout/plot.py RESULTS OUT.png [--metric mib_per_s|insns_per_page] [--title TEXT]
(RESULTS: the lines run.sh collects, one per case and boot: ``variant=... case=... median_<metric>=... min=...
max=...``). Writes OUT.png and OUT.svg.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CASES = (("nogroup", "no group"), ("group", "group with tiers"), ("bound", "bound memory cgroup"))


METRICS = {"mib_per_s": ("MiB/s swapped out (higher is better)", "{:.1f}"),
           "insns_per_page": ("guest instructions per page (lower is better)", "{:.0f}")}


def read(path: Path, metric: str) -> dict[tuple[str, str], list[tuple[float, float, float]]]:
    runs: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for line in path.read_text().splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if {"variant", "case", f"median_{metric}", "min", "max"} <= fields.keys():
            runs.setdefault((fields["variant"], fields["case"]), []).append(
                (float(fields[f"median_{metric}"]), float(fields["min"]), float(fields["max"])))
    return runs


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--metric", choices=sorted(METRICS), default="mib_per_s")
    parser.add_argument("--title", default="Swap-out throughput per boot (median of rounds, min-max)")
    parser.add_argument("--stock-name", default="unpatched", help="what the stock kernel is (default: unpatched)")
    parser.add_argument("--patched-name", default="reference",
                        help="what the patched kernel is (default: reference)")
    args = parser.parse_args(argv)
    ylabel, number = METRICS[args.metric]
    runs = read(args.results, args.metric)
    if not runs:
        print(f"plot.py: no result lines in {args.results}", file=sys.stderr)
        return 2
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = {"stock": args.stock_name, "patched": args.patched_name}
    # every case either kernel ran: the unpatched kernel runs no group only, another build of the series all three
    shown = [(variant, case, f"{names[variant]},\n{label}") for variant in ("stock", "patched")
             for case, label in CASES if runs.get((variant, case))]
    fig, ax = plt.subplots(figsize=(max(7, 1.6 * len(shown)), 4))
    for index, (variant, case, label) in enumerate(shown):
        boots = runs[(variant, case)]
        xs = [index + (b - (len(boots) - 1) / 2) * 0.12 for b in range(len(boots))]
        medians = [boot[0] for boot in boots]
        errors = [[median - low for median, low, _high in boots], [high - median for median, _low, high in boots]]
        ax.errorbar(xs, medians, yerr=errors, fmt="o", capsize=3)
        mean = sum(medians) / len(medians)
        ax.hlines(mean, xs[0] - 0.1, xs[-1] + 0.1, colors="grey", linestyles="dashed")
        ax.annotate(number.format(mean), (xs[-1] + 0.12, mean), va="center", fontsize=8)
    ax.set_xticks(range(len(shown)), [f"{label}\n({len(runs[(variant, case)])} boots)" for variant, case, label in shown],
                  fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(args.title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out)
    fig.savefig(args.out.with_suffix(".svg"))
    print(f"plot.py: wrote {args.out} and {args.out.with_suffix('.svg')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
