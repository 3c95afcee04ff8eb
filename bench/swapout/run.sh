#!/usr/bin/env bash
# Swap-out throughput of the policy-groups kernel against the unpatched build of the same source
# and configuration, measured in QEMU guests (vm/up.sh). Prints one line per case, then the ratios:
#
#   patched/nogroup vs stock/nogroup   cost of the series for a task in no group
#   patched/group   vs patched/nogroup cost of a group with swap tiers (same kernel)
#   patched/group   vs stock/nogroup   both together
#
# A ratio of 1.00 means equal throughput; below 1 is slower. Not pass/fail: numbers vary with the
# host (under TCG emulation the absolute MiB/s are small; compare ratios only).
#
# Usage: bench/swapout/run.sh [SIZE_MIB [ROUNDS [REPEATS]]]   (defaults 128, 4, 2)
#   ROUNDS per segment: each boot runs the cases A B B A (guest.sh), the first round of each dropped.
#   REPEATS boots each kernel that many times, alternating, to average out host noise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
size=${1:-128}
rounds=${2:-4}
repeats=${3:-2}
out=$repo/.cache/bench/swapout
mkdir -p "$out"
guest=bench-swapout

gcc -static -O2 -Wall -Wextra -o "$out/swapout" "$here/swapout.c"
patched=$("$repo/kernel/build.sh" | tail -n1)
stock=$("$repo/kernel/build.sh" --unpatched | tail -n1)

results=$out/results.txt
: >"$results"
trap '"$repo/vm/down.sh" "$guest" >/dev/null 2>&1 || true' EXIT
for ((i = 1; i <= repeats; i++)); do
    for variant in stock patched; do
        kdir=$stock
        [[ $variant == patched ]] && kdir=$patched
        # each boot a real one (not the saved state): the boots are what varies between repeats
        VM_SAVED_STATE=off "$repo/vm/up.sh" "$guest" "$kdir/bzImage" >/dev/null
        "$repo/vm/scp.sh" "$guest" "$out/swapout" "$here/guest.sh" :/root/ >/dev/null
        "$repo/vm/ssh.sh" "$guest" sh /root/guest.sh /root/swapout "$size" "$rounds" \
            | sed "s/^/variant=$variant /" | tee -a "$results"
        "$repo/vm/down.sh" "$guest" >/dev/null
    done
done

awk '
    { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      k = f["variant"] "/" f["case"]; sum[k] += f["median_mib_per_s"]; n[k]++ }
    END {
        for (k in sum) { avg[k] = sum[k] / n[k]; printf "%-16s %8.1f MiB/s (mean of %d boots)\n", k, avg[k], n[k] }
        r("patched/nogroup", "stock/nogroup"); r("patched/group", "patched/nogroup"); r("patched/group", "stock/nogroup")
    }
    function r(a, b) { if (avg[a] && avg[b]) printf "ratio %-16s / %-16s %.3f\n", a, b, avg[a] / avg[b] }
' "$results" | sort

# The same per boot as a plot (median and min-max of each boot, mean per case), next to the results.
py=$repo/.venv/bin/python
if [[ -x $py ]] && "$py" -c 'import matplotlib' 2>/dev/null; then
    "$py" "$here/plot.py" "$results" "$out/swapout.png" \
        --title "Swap-out, ${size} MiB x ${rounds} rounds, ${repeats} boots per kernel"
else
    echo "bench/swapout: no plot (matplotlib comes with make setup)" >&2
fi
