#!/usr/bin/env bash
# Where the guest instructions of a swap-out go, per kernel function: the unpatched kernel against the
# reference kernel, for a task in no policy group (on a host where a group restricts swap tiers) or in one.
# Each kernel boots once with the instruction counter (insn_count.c, profile=) in its emulator, runs the
# benchmark's guest side for one case (guest.sh --only: SIZE MiB swapped out ROUNDS times by swapout.c, between
# markers, the same set-up as run.sh's) and hands over its /proc/kallsyms; profile.py prints the functions
# whose instructions per page differ most, and the totals.
#
# Usage: bench/swapout/profile.sh [outside|inside|bound [SIZE_MIB [ROUNDS]]]   (defaults outside, 64, 3)
#   outside: the reference kernel has tiers and a group restricted to the benchmark's device, the task is
#            not in it (what every process outside the groups pays); inside: the task is in that group;
#            bound: the task is in a memory cgroup bound to that group.
# Software emulation only; the profiled guests run about half as fast as without the plugin.
set -euo pipefail
# shellcheck source=bench/swapout/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
one_case_args 64 3 "$@"
out=$repo/.cache/bench/swapout/profile
mkdir -p "$out"
guest=bench-profile
export VM_ACCEL=tcg

build_swapout
gcc -shared -fPIC -O2 -Wall -Wextra -o "$out/libinsn_count.so" "$here/insn_count.c"
kernels

trap '"$repo/vm/down.sh" "$guest" >/dev/null 2>&1 || true' EXIT
pages=()
for variant in stock patched; do
    printf 'bench/swapout/profile: %s kernel, %s MiB x %s rounds (%s)\n' "$variant" "$size" "$rounds" "$(date -u +%T)"
    boot_variant "$variant" "$out/libinsn_count.so,out=$out/marks-$variant.txt,profile=$out/profile-$variant.txt"
    "$repo/vm/ssh.sh" "$guest" sh /root/guest.sh --only "$case" --kallsyms /root/kallsyms /root/swapout "$size" "$rounds" \
        | tee "$out/rounds-$variant.txt"
    "$repo/vm/scp.sh" "$guest" :/root/kallsyms "$out/kallsyms-$variant.txt" >/dev/null
    "$repo/vm/down.sh" "$guest" >/dev/null   # the plugin writes the profile when the emulator exits
    pages+=("$(mib_swapped "$out/rounds-$variant.txt" | awk '{ printf "%d", $1 * 256 }')")
done

where="$setup the group"
[[ $setup == bound ]] && where="in a memory cgroup bound to the group"
printf '\ninstructions per page swapped out, unpatched (base) against reference (this), task %s:\n' "$where"
"$repo/.venv/bin/python" "$here/profile.py" "$out/profile-patched.txt" "$out/kallsyms-patched.txt" --pages "${pages[1]}" \
    --base "$out/profile-stock.txt" "$out/kallsyms-stock.txt" --base-pages "${pages[0]}"
