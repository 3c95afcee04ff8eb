#!/usr/bin/env bash
# Swap-out throughput of the policy-groups kernel against the unpatched build of the same source
# and configuration, measured in QEMU guests (vm/up.sh). Prints one line per case, then the ratios:
#
#   patched/nogroup vs stock/nogroup   cost of the series for a task in no group
#   patched/group   vs patched/nogroup cost of a group with swap tiers (same kernel), joined by PID
#   patched/group   vs stock/nogroup   both together
#   patched/bound   vs patched/nogroup the same group reached through a bound memory cgroup
#   patched/bound   vs stock/nogroup   both together
#   patched/group   vs stock/group     and bound against bound, when SWAPOUT_STOCK is a kernel with policy groups
#                                      too (two versions of the series)
#
# A ratio of 1.00 means equal throughput; below 1 is slower. Not pass/fail: numbers vary with the
# host (under TCG emulation the absolute MiB/s are small; compare ratios only).
#
# Usage: bench/swapout/run.sh [--insns] [SIZE_MIB [ROUNDS [REPEATS]]]   (defaults 128, 4, 2)
#   ROUNDS per segment: each boot runs the cases A B B A (guest.sh), the first round of each dropped; the
#   median of a case's rounds per boot (per_case.awk) is what the boots average.
#   REPEATS boots each kernel that many times, alternating, to average out host noise.
#   --insns also counts the guest instructions each swap-out executes (a TCG plugin, insn_count.c, loaded
#   into the emulator; software emulation only) and prints instructions per page swapped out per case, with
#   the same ratios: unlike MiB/s under emulation, that count does not move with the host's speed or with
#   how the emulator translates each kernel's code. The plugin slows the guests: compare its MiB/s only
#   with runs that had it too.
# Environment: SWAPOUT_STOCK and SWAPOUT_PATCHED name other kernel directories (with a bzImage) to compare
# in the two roles, e.g. the unpatched kernel against itself with its code laid out differently, or two
# versions of the series; SWAPOUT_STOCK_NAME and SWAPOUT_PATCHED_NAME say what they are in the plots.
set -euo pipefail

insns=0
if [[ ${1:-} == --insns ]]; then
    insns=1
    shift
fi

# shellcheck source=bench/swapout/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
size=${1:-128}
rounds=${2:-4}
repeats=${3:-2}
out=$repo/.cache/bench/swapout
mkdir -p "$out"
guest=bench-swapout

build_swapout
if ((insns)); then
    gcc -shared -fPIC -O2 -Wall -Wextra -o "$out/libinsn_count.so" "$here/insn_count.c"
    export VM_ACCEL=tcg
fi
kernels

results=$out/results.txt
counts=$out/insns.txt
: >"$results"
: >"$counts"
trap '"$repo/vm/down.sh" "$guest" >/dev/null 2>&1 || true' EXIT

for ((i = 1; i <= repeats; i++)); do
    for variant in stock patched; do
        marks=$out/marks-$variant-$i.txt
        plugin=
        ((insns)) && plugin="$out/libinsn_count.so,out=$marks"
        boot_variant "$variant" "$plugin"
        "$repo/vm/ssh.sh" "$guest" sh /root/guest.sh /root/swapout "$size" "$rounds" >"$out/rounds-$variant-$i.txt"
        "$repo/vm/down.sh" "$guest" >/dev/null   # the plugin writes its marks when the emulator exits
        awk -v variant="$variant" -v boot="$i" -v metric=mib_per_s -f "$here/per_case.awk" \
            "$out/rounds-$variant-$i.txt" | sort | tee -a "$results"
        if ((insns)); then
            awk -v variant="$variant" -v boot="$i" -v metric=insns_per_page -v marks="$marks" -f "$here/per_case.awk" \
                "$out/rounds-$variant-$i.txt" | sort | tee -a "$counts"
        fi
    done
done

# summary METRIC UNIT FILE: the mean over boots per case, and the ratios between the cases
summary() {
    awk -v metric="median_$1" -v unit="$2" '
        { delete f; for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
          if (!(metric in f)) next
          k = f["variant"] "/" f["case"]; sum[k] += f[metric]; n[k]++ }
        END {
            for (k in sum) { avg[k] = sum[k] / n[k]; printf "%-16s %10.1f %s (mean of %d boots)\n", k, avg[k], unit, n[k] }
            r("patched/nogroup", "stock/nogroup"); r("patched/group", "patched/nogroup"); r("patched/group", "stock/nogroup")
            r("patched/bound", "patched/nogroup"); r("patched/bound", "stock/nogroup")
            r("patched/group", "stock/group"); r("patched/bound", "stock/bound")
        }
        function r(a, b) { if (avg[a] && avg[b]) printf "ratio %-16s / %-16s %.4f (%s)\n", a, b, avg[a] / avg[b], unit }
    ' "$3" | sort
}
summary mib_per_s MiB/s "$results"
((insns)) && summary insns_per_page "instructions/page" "$counts"

# The same per boot as a plot (median and min-max of each boot, mean per case), next to the results.
py=$repo/.venv/bin/python
if [[ -x $py ]] && "$py" -c 'import matplotlib' 2>/dev/null; then
    names=(--stock-name "${SWAPOUT_STOCK_NAME:-unpatched}" --patched-name "${SWAPOUT_PATCHED_NAME:-reference}")
    "$py" "$here/plot.py" "$results" "$out/swapout.png" "${names[@]}" \
        --title "Swap-out, ${size} MiB x ${rounds} rounds, ${repeats} boots per kernel"
    if ((insns)); then
        "$py" "$here/plot.py" "$counts" "$out/swapout-insns.png" --metric insns_per_page "${names[@]}" \
            --title "Guest instructions per page swapped out, ${size} MiB x ${rounds} rounds, ${repeats} boots per kernel"
    fi
else
    echo "bench/swapout: no plot (matplotlib comes with make setup)" >&2
fi
