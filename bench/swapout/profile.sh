#!/usr/bin/env bash
# Where the guest instructions of a swap-out go, per kernel function: the unpatched kernel against the
# reference kernel, for a task in no policy group (on a host where a group restricts swap tiers) or in one.
# Each kernel boots once with the instruction counter (insn_count.c, profile=) in its emulator, swaps SIZE
# MiB out ROUNDS times (swapout.c, between markers) and hands over its /proc/kallsyms; profile.py prints
# the functions whose instructions per page differ most, and the totals.
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
export VM_ACCEL=tcg

gcc -static -O2 -Wall -Wextra -o "$out/swapout" "$here/swapout.c"
gcc -shared -fPIC -O2 -Wall -Wextra -o "$out/libinsn_count.so" "$here/insn_count.c"
patched=$("$repo/kernel/build.sh" | tail -n1)
stock=$("$repo/kernel/build.sh" --unpatched | tail -n1)

# The guest's part: swap only to a zram device of its own, the policy set-up on the reference kernel.
cat >"$out/guest-profile.sh" <<'EOF'
set -eu
setup=$1 size=$2 rounds=$3
swapoff -a 2>/dev/null || true
[ -e /sys/module/zswap/parameters/enabled ] && echo N >/sys/module/zswap/parameters/enabled
if grep -qw policy /proc/cgroups; then
    mkdir -p /sys/fs/cgroup/policy
    mount -t cgroup -o policy none /sys/fs/cgroup/policy
    echo "+fast:100,+slow:-1" >/sys/kernel/mm/swap/tiers
    mkdir /sys/fs/cgroup/policy/bench_profile
    echo fast >/sys/fs/cgroup/policy/bench_profile/policy.swap.tiers
    [ "$setup" = inside ] && echo $$ >/sys/fs/cgroup/policy/bench_profile/cgroup.procs
fi
zram=zram$(cat /sys/class/zram-control/hot_add)
echo lzo-rle >"/sys/block/$zram/comp_algorithm"
echo $(( size * 2 ))M >"/sys/block/$zram/disksize"
mkswap "/dev/$zram" >/dev/null
swapon -p 100 "/dev/$zram"
/root/swapout "$size" "$rounds"
cat /proc/kallsyms >/root/kallsyms
EOF

trap '"$repo/vm/down.sh" "$guest" >/dev/null 2>&1 || true' EXIT
pages=()
for variant in stock patched; do
    kdir=$stock
    [[ $variant == patched ]] && kdir=$patched
    printf 'bench/swapout/profile: %s kernel, %s MiB x %s rounds (%s)\n' "$variant" "$size" "$rounds" "$(date -u +%T)"
    VM_SAVED_STATE=off VM_PLUGIN="$out/libinsn_count.so,out=$out/marks-$variant.txt,profile=$out/profile-$variant.txt" \
        "$repo/vm/up.sh" "$guest" "$kdir/bzImage" >/dev/null
    "$repo/vm/scp.sh" "$guest" "$out/swapout" "$out/guest-profile.sh" :/root/ >/dev/null
    "$repo/vm/ssh.sh" "$guest" sh /root/guest-profile.sh "$setup" "$size" "$rounds" | tee "$out/rounds-$variant.txt"
    "$repo/vm/scp.sh" "$guest" :/root/kallsyms "$out/kallsyms-$variant.txt" >/dev/null
    "$repo/vm/down.sh" "$guest" >/dev/null   # the plugin writes the profile when the emulator exits
    pages+=("$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^mib=/) { split($i, kv, "="); p += kv[2] * 256 } }
        END { printf "%d", p }' "$out/rounds-$variant.txt")")
done

printf '\ninstructions per page swapped out, unpatched (base) against reference (this), task %s the group:\n' "$setup"
"$repo/.venv/bin/python" "$here/profile.py" "$out/profile-patched.txt" "$out/kallsyms-patched.txt" --pages "${pages[1]}" \
    --base "$out/profile-stock.txt" "$out/kallsyms-stock.txt" --base-pages "${pages[0]}"
