#!/usr/bin/env bash
# Where the guest instructions of a swap-out go, per kernel function: the unpatched kernel against the
# reference kernel, for a task in no policy group (on a host where a group restricts swap tiers) or in one.
# Each kernel boots once with the instruction counter (insn_count.c, profile=) in its emulator, runs the
# benchmark's guest side for one case (guest.sh --only: SIZE MiB swapped out ROUNDS times by swapout.c, between
# markers, the same set-up as run.sh's) and hands over its /proc/kallsyms; profile.py prints the functions
# whose instructions per page differ most, and the totals.
#
# Usage: bench/swapout/profile.sh [outside|inside [SIZE_MIB [ROUNDS]]]   (defaults outside, 64, 3)
#   outside: the reference kernel has tiers and a group restricted to the benchmark's device, the task is
#            not in it (what every process outside the groups pays); inside: the task is in that group.
# Software emulation only; the profiled guests run about half as fast as without the plugin.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
setup=${1:-outside}
size=${2:-64}
rounds=${3:-3}
[[ $setup == outside || $setup == inside ]] || { echo "usage: $0 [outside|inside [SIZE_MIB [ROUNDS]]]" >&2; exit 2; }
out=$repo/.cache/bench/swapout/profile
mkdir -p "$out"
guest=bench-profile
case=nogroup
[[ $setup == inside ]] && case=group
export VM_ACCEL=tcg

gcc -static -O2 -Wall -Wextra -o "$out/swapout" "$here/swapout.c"
gcc -shared -fPIC -O2 -Wall -Wextra -o "$out/libinsn_count.so" "$here/insn_count.c"
patched=$("$repo/kernel/build.sh" | tail -n1)
stock=$("$repo/kernel/build.sh" --unpatched | tail -n1)

trap '"$repo/vm/down.sh" "$guest" >/dev/null 2>&1 || true' EXIT
pages=()
for variant in stock patched; do
    kdir=$stock
    [[ $variant == patched ]] && kdir=$patched
    printf 'bench/swapout/profile: %s kernel, %s MiB x %s rounds (%s)\n' "$variant" "$size" "$rounds" "$(date -u +%T)"
    VM_SAVED_STATE=off VM_PLUGIN="$out/libinsn_count.so,out=$out/marks-$variant.txt,profile=$out/profile-$variant.txt" \
        "$repo/vm/up.sh" "$guest" "$kdir/bzImage" >/dev/null
    "$repo/vm/scp.sh" "$guest" "$out/swapout" "$here/guest.sh" :/root/ >/dev/null
    "$repo/vm/ssh.sh" "$guest" sh /root/guest.sh --only "$case" --kallsyms /root/kallsyms /root/swapout "$size" "$rounds" \
        | tee "$out/rounds-$variant.txt"
    "$repo/vm/scp.sh" "$guest" :/root/kallsyms "$out/kallsyms-$variant.txt" >/dev/null
    "$repo/vm/down.sh" "$guest" >/dev/null   # the plugin writes the profile when the emulator exits
    # every round ran between marks, the warm-up (kept=0) too
    pages+=("$(awk '$1 == "roundlog" { for (i = 2; i <= NF; i++) if ($i ~ /^mib=/) { split($i, kv, "="); p += kv[2] * 256 } }
        END { printf "%d", p }' "$out/rounds-$variant.txt")")
done

printf '\ninstructions per page swapped out, unpatched (base) against reference (this), task %s the group:\n' "$setup"
"$repo/.venv/bin/python" "$here/profile.py" "$out/profile-patched.txt" "$out/kallsyms-patched.txt" --pages "${pages[1]}" \
    --base "$out/profile-stock.txt" "$out/kallsyms-stock.txt" --base-pages "${pages[0]}"
