#!/usr/bin/env bash
# Memory priority under global pressure, on the reference kernel in a QEMU guest (vm/up.sh): a
# latency-sensitive service and a batch job of equal size, each in a cgroup bound to a policy group,
# then a third process takes memory. Arm "plain": no priority (reclaim as without policy groups); arm
# "priority": the service's group mem_priority high, the batch job's low. Each repetition boots a fresh
# guest per arm, arms alternating. Writes the samples (CSV), a report (Markdown: medians per arm and
# the ratios) and plots (PNG and SVG) to the output directory; prints the report. Not pass/fail.
#
# Usage: bench/mem_priority/run.sh [--quick] [--reps N] [--out DIR]
#   --quick   one repetition, short phases (5 s warm-up, 20 s pressure)
#   --reps N  repetitions (default 3); --out DIR (default .cache/bench/mem_priority)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
reps=3 warmup=10 pressure=40 out=$repo/.cache/bench/mem_priority
while (($#)); do
    case $1 in
        --quick) reps=1 warmup=5 pressure=20 ;;
        --reps) shift; reps=${1:?--reps needs a number} ;;
        --out) shift; out=${1:?--out needs a directory} ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
mkdir -p "$out"
guest=bench-mempriority
py=$repo/.venv/bin/python
[[ -x $py ]] || py=python3

gcc -static -O2 -Wall -Wextra -o "$out/memload" "$repo/experiments/workloads/memload.c"
kdir=$("$repo/kernel/build.sh" | tail -n1)

trap '"$repo/vm/down.sh" "$guest" >/dev/null 2>&1 || true' EXIT
began=$SECONDS total=$((reps * 2)) n=0
for ((i = 1; i <= reps; i++)); do
    for arm in plain priority; do
        n=$((n + 1))
        printf '[%d/%d] arm %s, repetition %d (%d s elapsed)\n' "$n" "$total" "$arm" "$i" $((SECONDS - began)) >&2
        "$repo/vm/up.sh" "$guest" "$kdir/bzImage" >/dev/null
        "$repo/vm/scp.sh" "$guest" "$out/memload" "$here/guest.sh" :/root/ >/dev/null
        "$repo/vm/ssh.sh" "$guest" sh /root/guest.sh /root/memload "$arm" 450 100 "$warmup" "$pressure" \
            >"$out/$arm-$i.csv"
        "$repo/vm/down.sh" "$guest" >/dev/null
    done
done
"$py" "$here/report.py" --warmup "$warmup" "$out"
