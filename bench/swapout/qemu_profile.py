"""Where the emulator's own time goes while a guest swaps out: two kernels, the same work, the host's view.

Reads ``perf report --sort dso,sym -n --stdio`` of the QEMU process (one per kernel, the same swap-out work in each)
and prints host CPU milliseconds per MiB swapped out (samples / sampling frequency), per shared object (``[JIT]``: the guest code QEMU translated; the
QEMU binary: its helpers, its lookup of translated blocks, its soft MMU) and per symbol, the largest differences
first. Debian's QEMU is stripped: an address in it is named after the nearest exported symbol below it (``nm -D``
of the binary, ``--symbols``), as ``name+0xoffset``; static functions that follow that symbol in the source file
land there.

Usage: python3 bench/swapout/qemu_profile.py REPORT --mib N --base REPORT --base-mib N [--symbols NM_D] [--freq HZ]
       [--top K]
"""

from __future__ import annotations

import argparse
import bisect
import re
import sys
from collections import Counter
from pathlib import Path

# "    5.87%          8909  qemu-system-x86_64       [.] qht_lookup_custom"
LINE = re.compile(r"\s*[\d.]+%\s+(\d+)\s+(.+?)\s+\[[.k]\]\s+(\S+)")


def exported(path: Path | None) -> tuple[list[int], list[str]]:
    """The defined dynamic symbols of ``nm -D --defined-only`` output, sorted by address."""
    table = []
    if path is not None:
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) == 3 and re.fullmatch(r"[0-9a-fA-F]+", parts[0]):
                table.append((int(parts[0], 16), parts[2]))
    table.sort()
    return [address for address, _name in table], [name for _address, name in table]


def samples(report: Path, symbols: tuple[list[int], list[str]]) -> tuple[Counter[str], Counter[str]]:
    """Samples per shared object and per symbol (``object: symbol``); JIT objects of any thread are one."""
    addresses, names = symbols
    by_dso: Counter[str] = Counter()
    by_symbol: Counter[str] = Counter()
    for line in report.read_text().splitlines():
        match = LINE.match(line)
        if not match:
            continue
        count, dso, symbol = int(match.group(1)), match.group(2).strip(), match.group(3)
        if dso.startswith("[JIT]"):
            dso, symbol = "[JIT]", "(translated guest code)"
        elif symbol.startswith("0x") and dso.startswith("qemu-system"):
            address = int(symbol, 16)
            index = bisect.bisect_right(addresses, address) - 1
            if index >= 0:
                symbol = f"{names[index]}+{address - addresses[index]:#x}"
        elif symbol.startswith("0x"):
            symbol = "(unnamed)"
        by_dso[dso] += count
        by_symbol[f"{dso}: {symbol}"] += count
    return by_dso, by_symbol


def ms_per_mib(counts: Counter[str], mib: float, freq: float) -> Counter[str]:
    return Counter({key: value * 1000 / freq / mib for key, value in counts.items()})


def table(title: str, base: Counter[str], this: Counter[str], top: int) -> None:
    rows = sorted(set(base) | set(this), key=lambda key: -abs(this[key] - base[key]))
    print(f"\n{title:62} {'base':>9} {'this':>9} {'diff':>9}")
    for key in rows[:top]:
        print(f"{key[:62]:62} {base[key]:9.2f} {this[key]:9.2f} {this[key] - base[key]:+9.2f}")
    total_base, total_this = sum(base.values()), sum(this.values())
    print(f"{'total':62} {total_base:9.2f} {total_this:9.2f} {total_this - total_base:+9.2f}"
          f"  (ratio {total_this / total_base:.4f})" if total_base else "")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n", maxsplit=1)[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--mib", type=float, required=True, help="MiB swapped out in the profiled window")
    parser.add_argument("--base", type=Path, required=True)
    parser.add_argument("--base-mib", type=float, required=True)
    parser.add_argument("--symbols", type=Path, help="nm -D --defined-only of the QEMU binary")
    parser.add_argument("--freq", type=float, default=999.0, help="perf record's sampling frequency (-F), Hz")
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    symbols = exported(args.symbols)
    base_dso, base_symbol = samples(args.base, symbols)
    this_dso, this_symbol = samples(args.report, symbols)
    if not base_dso or not this_dso:
        print("qemu_profile.py: no samples in a report (is it perf report --sort dso,sym -n --stdio?)", file=sys.stderr)
        return 1
    print("host CPU ms per MiB swapped out, QEMU process (base: first kernel, this: second)")
    table("shared object", ms_per_mib(base_dso, args.base_mib, args.freq), ms_per_mib(this_dso, args.mib, args.freq),
          args.top)
    table("symbol", ms_per_mib(base_symbol, args.base_mib, args.freq), ms_per_mib(this_symbol, args.mib, args.freq),
          args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
