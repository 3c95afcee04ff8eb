"""Where a swap-out's guest instructions go, per kernel function, and what one kernel executes that another does not.

Reads the profiles of insn_count.c (``profile=``: one line per translated block executed between markers, "<address,
hex> <instructions> <executions>") and the guest's ``/proc/kallsyms`` of the same boot, attributes each block to the
function its first instruction lies in, and prints instructions per page swapped out per function. With two runs
(``--base``), the functions whose count differs most, as a table: where the second kernel spends more or less than
the first for the same work.

Usage: python3 bench/swapout/profile.py PROFILE KALLSYMS --pages N [--base PROFILE KALLSYMS --base-pages N] [--top K]
"""

from __future__ import annotations

import argparse
import bisect
import sys
from collections import Counter
from pathlib import Path


def symbols(path: Path) -> tuple[list[int], list[str]]:
    """Text symbols of a kallsyms listing, sorted by address."""
    table = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "tTwW":
            table.append((int(parts[0], 16), parts[2]))
    table.sort()
    return [address for address, _name in table], [name for _address, name in table]


def per_function(profile: Path, kallsyms: Path, pages: int) -> Counter[str]:
    """Instructions per page swapped out, per function (user space as one entry)."""
    addresses, names = symbols(kallsyms)
    counts: Counter[str] = Counter()
    for line in profile.read_text().splitlines():
        address_hex, insns, execs = line.split()
        address = int(address_hex, 16)
        index = bisect.bisect_right(addresses, address) - 1
        name = names[index] if address >= 1 << 63 and index >= 0 else "(user space)"
        counts[name] += int(insns) * int(execs)
    return Counter({name: count / pages for name, count in counts.items()})


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument("profile", type=Path)
    parser.add_argument("kallsyms", type=Path)
    parser.add_argument("--pages", type=int, required=True, help="pages swapped out in the profiled windows")
    parser.add_argument("--base", nargs=2, type=Path, metavar=("PROFILE", "KALLSYMS"))
    parser.add_argument("--base-pages", type=int)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    run = per_function(args.profile, args.kallsyms, args.pages)
    if not args.base:
        print(f"{'function':40} {'insns/page':>12}")
        for name, value in run.most_common(args.top):
            print(f"{name:40} {value:12.1f}")
        print(f"{'total':40} {sum(run.values()):12.1f}")
        return 0
    base = per_function(args.base[0], args.base[1], args.base_pages or args.pages)
    rows = sorted(set(run) | set(base), key=lambda name: -abs(run[name] - base[name]))
    print(f"{'function':40} {'base':>10} {'this':>10} {'difference':>11}")
    for name in rows[: args.top]:
        print(f"{name:40} {base[name]:10.1f} {run[name]:10.1f} {run[name] - base[name]:+11.1f}")
    total_base, total_run = sum(base.values()), sum(run.values())
    print(f"{'total':40} {total_base:10.1f} {total_run:10.1f} {total_run - total_base:+11.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
