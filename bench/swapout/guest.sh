#!/bin/sh
# Guest side of the swap-out benchmark: run `swapout` with the process (a) in no policy group and
# (b) in a policy group whose swap tiers allow the benchmark's device, alternating A B B A, and
# print one line per case (median of its rounds, the warm-up round of each segment dropped):
#
#   case=<name> kernel=<release> runs=<n> median_mib_per_s=<x> min=<x> max=<x>
#
# and after them every round in the order it ran, the dropped ones too (run.sh --insns pairs them with the
# emulator's instruction counts): roundlog case=<name> kept=<0|1> round=<n> mib=<x> seconds=<x> mib_per_s=<x>
#
# Needs root. Sets up its own zram swap device (priority 100, tier "fast") and turns every other
# one off while it runs; on a kernel without policy groups every segment runs case (a). Everything
# it creates is removed on exit.
#
# Usage: guest.sh SWAPOUT_BINARY [SIZE_MIB [ROUNDS]]   (ROUNDS per segment, four segments)
set -eu

bin=${1:?usage: guest.sh SWAPOUT_BINARY [SIZE_MIB [ROUNDS]]}
size=${2:-128}
rounds=${3:-7}
root=/sys/fs/cgroup/policy
tiers=/sys/kernel/mm/swap/tiers
group=$root/bench_swapout
zram=
work=
mounted=0
tiers_added=0

cleanup() {
    if [ -n "$work" ]; then rm -rf "$work"; fi
    # Order matters: a tier named by a group or covering an active device cannot be removed.
    if [ -d "$group" ]; then rmdir "$group" 2>/dev/null || true; fi
    if [ -n "$zram" ]; then swapoff "/dev/$zram" 2>/dev/null || true; fi
    if [ "$tiers_added" = 1 ]; then echo "-fast,-slow" >"$tiers" 2>/dev/null || true; fi
    if [ "$mounted" = 1 ]; then umount "$root" 2>/dev/null || true; fi
    if [ -n "$zram" ]; then
        echo 1 >"/sys/block/$zram/reset" 2>/dev/null || true
        echo "${zram#zram}" >/sys/class/zram-control/hot_remove 2>/dev/null || true
    fi
}
trap cleanup EXIT INT TERM

# Nothing else may swap during the measurement: turn every existing device off.
swapoff -a 2>/dev/null || true
[ -e /sys/module/zswap/parameters/enabled ] && echo N >/sys/module/zswap/parameters/enabled

# Tiers before swapon: a tier may not be split below an active device.
if [ -w "$tiers" ]; then
    echo "+fast:100,+slow:-1" >"$tiers"
    tiers_added=1
fi

idx=$(cat /sys/class/zram-control/hot_add)
zram=zram$idx
echo lzo-rle >"/sys/block/$zram/comp_algorithm"
echo $(( size * 2 ))M >"/sys/block/$zram/disksize"
mkswap "/dev/$zram" >/dev/null
swapon -p 100 "/dev/$zram"

summarize() { # name, then the swapout output on stdin
    awk -v name="$1" -v rel="$(uname -r)" '
        /^round=/ { for (i = 1; i <= NF; i++) if ($i ~ /^mib_per_s=/) { split($i, kv, "="); v[++n] = kv[2] } }
        END {
            if (n == 0) { print "case=" name " kernel=" rel " runs=0"; exit 1 }
            for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            med = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
            printf "case=%s kernel=%s runs=%d median_mib_per_s=%.1f min=%.1f max=%.1f\n", name, rel, n, med, v[1], v[n]
        }'
}

# The cases alternate in the order A B B A (no group, group, group, no group), each segment ROUNDS
# rounds with its first dropped as warm-up, so that what changes over a boot (zram's allocator, page
# cache, the host) weighs on both cases alike. On a kernel without policy groups the B segments run
# in no group as well, so that every case of every kernel is measured at the same positions.
work=$(mktemp -d)
segment() { # case name, then "group" to run in the policy group
    if [ "${2:-}" = group ]; then
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$group" "$bin" "$size" "$rounds"
    else
        "$bin" "$size" "$rounds"
    fi | awk -v c="$1" -v all="$work/all" '{ print "roundlog case=" c " kept=" (NR > 1) " " $0 >>all } NR > 1' >>"$work/$1"
}

if grep -qw policy /proc/cgroups; then
    if ! grep -q " $root cgroup " /proc/mounts; then
        mkdir -p "$root"
        mount -t cgroup -o policy none "$root"
        mounted=1
    fi
    mkdir "$group"
    echo fast >"$group/policy.swap.tiers"
    segment nogroup; segment group group; segment group group; segment nogroup
    summarize nogroup <"$work/nogroup"
    summarize group <"$work/group"
else
    segment nogroup; segment nogroup_b; segment nogroup_b; segment nogroup
    cat "$work/nogroup_b" >>"$work/nogroup"
    summarize nogroup <"$work/nogroup"
fi
cat "$work/all"
