#!/usr/bin/env bash
# Where the emulator's own time goes while a guest swaps out: the unpatched kernel against the reference kernel,
# the same work in each, seen from the host. Each kernel boots once under software emulation, runs the benchmark's
# guest side for one case (guest.sh --only) once to warm up and once under `perf record` of its QEMU process;
# qemu_profile.py prints host CPU milliseconds per MiB swapped out per shared object and per symbol, the largest
# differences first. For a question instruction counts cannot answer: why a kernel that executes about as many
# guest instructions per page (run.sh --insns) is slower in MiB/s under the emulator.
#
# Usage: bench/swapout/qemu_profile.sh [outside|inside|bound [SIZE_MIB [ROUNDS]]]   (defaults outside, 128, 20)
#   outside: the task is in no group (a group restricts tiers on the reference kernel); inside: in that group;
#   bound: in a memory cgroup bound to that group.
# Needs perf (Debian: linux-perf) allowed to record the QEMU process (root, or kernel.perf_event_paranoid <= 1).
set -euo pipefail
# shellcheck source=bench/swapout/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
one_case_args 128 20 "$@"
command -v perf >/dev/null || { echo "bench/swapout/qemu_profile: needs perf (Debian: apt-get install linux-perf)" >&2; exit 2; }
out=$repo/.cache/bench/swapout/qemu-profile
mkdir -p "$out"
guest=bench-qemu-profile
export VM_ACCEL=tcg

build_swapout
kernels
nm -D --defined-only "$(command -v qemu-system-x86_64)" >"$out/qemu-symbols.txt"

perf_pid=
stop_perf() { if [[ -n $perf_pid ]]; then kill -INT "$perf_pid" 2>/dev/null || true; wait "$perf_pid" || true; perf_pid=; fi; }
trap 'stop_perf; "$repo/vm/down.sh" "$guest" >/dev/null 2>&1 || true' EXIT
mib=()
for variant in stock patched; do
    printf 'bench/swapout/qemu_profile: %s kernel, %s MiB x %s rounds (%s)\n' "$variant" "$size" "$rounds" "$(date -u +%T)"
    boot_variant "$variant"
    "$repo/vm/ssh.sh" "$guest" sh /root/guest.sh --only "$case" /root/swapout "$size" 2 >/dev/null   # warm-up
    perf record -q -F 999 -p "$(<"$repo/.cache/vm/guests/$guest/qemu.pid")" -o "$out/perf-$variant.data" \
        -- sleep 3600 >/dev/null 2>&1 &
    perf_pid=$!
    sleep 1
    "$repo/vm/ssh.sh" "$guest" sh /root/guest.sh --only "$case" /root/swapout "$size" "$rounds" >"$out/rounds-$variant.txt"
    stop_perf
    "$repo/vm/down.sh" "$guest" >/dev/null
    awk -v variant="$variant" -v boot=1 -v metric=mib_per_s -f "$here/per_case.awk" "$out/rounds-$variant.txt"
    perf report -i "$out/perf-$variant.data" --sort dso,sym -n --stdio 2>/dev/null >"$out/report-$variant.txt"
    mib+=("$(mib_swapped "$out/rounds-$variant.txt")")   # every round ran under perf
done

"$repo/.venv/bin/python" "$here/qemu_profile.py" "$out/report-patched.txt" --mib "${mib[1]}" \
    --base "$out/report-stock.txt" --base-mib "${mib[0]}" --symbols "$out/qemu-symbols.txt" --freq 999
