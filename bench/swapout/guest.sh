#!/bin/sh
# Guest side of the swap-out benchmark: run `swapout` with the process (a) in no policy group, (b) in a
# policy group whose swap tiers allow the benchmark's device, joined by PID (reclaim finds the tiers in the
# folio's anon_vma), and (c) in a memory cgroup bound to that group (policy.bind: reclaim finds them through
# the folio's memory cgroup), alternating A B C C B A, and print every round in the order it ran, the
# warm-up round of each segment marked as dropped (kept=0):
#
#   roundlog case=<nogroup|group|bound|nogroup_b> kept=<0|1> kernel=<release> round=<n> mib=<x> seconds=<x> mib_per_s=<x>
#
# The host makes the per-case figures of them (per_case.awk: MiB/s, and with the instruction counter's marks,
# instructions per page).
#
# Needs root. Sets up its own zram swap device (priority 100, tier "fast") and turns every other
# one off while it runs; on a kernel without policy groups every segment runs case (a) ("nogroup_b" for
# the middle four). Everything it creates is removed on exit.
#
# Usage: guest.sh [--only nogroup|group|bound] [--kallsyms FILE] SWAPOUT_BINARY [SIZE_MIB [ROUNDS]]
#   ROUNDS per segment, six segments; --only runs one segment of that case (profile.sh: one case per boot);
#   --kallsyms copies /proc/kallsyms to FILE at the end (for attributing instructions to functions).
set -eu

usage="usage: guest.sh [--only nogroup|group|bound] [--kallsyms FILE] SWAPOUT_BINARY [SIZE_MIB [ROUNDS]]"
only=
kallsyms=
while [ $# -gt 0 ]; do
    case $1 in
        --only) only=${2:?$usage}; shift 2 ;;
        --kallsyms) kallsyms=${2:?$usage}; shift 2 ;;
        *) break ;;
    esac
done
case $only in ""|nogroup|group|bound) ;; *) echo "$usage" >&2; exit 2 ;; esac
bin=${1:?$usage}
size=${2:-128}
rounds=${3:-7}
root=/sys/fs/cgroup/policy
tiers=/sys/kernel/mm/swap/tiers
group=$root/bench_swapout
memcg=/sys/fs/cgroup/bench_swapout_mem
bound=0
zram=
work=
mounted=0
tiers_added=0

cleanup() {
    if [ -n "$work" ]; then rm -rf "$work"; fi
    if [ "$bound" = 1 ]; then echo "-/${memcg##*/}" >"$group/policy.bind" 2>/dev/null || true; fi
    if [ -d "$memcg" ]; then rmdir "$memcg" 2>/dev/null || true; fi
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

# The cases alternate in the order A B C C B A (no group, group, bound, bound, group, no group), each
# segment ROUNDS rounds with its first dropped as warm-up, so that what changes over a boot (zram's
# allocator, page cache, the host) weighs on every case alike. On a kernel without policy groups the B
# and C segments run in no group as well, so that every case of every kernel is measured at the same
# positions.
work=$(mktemp -d)
segment() { # case name, then the cgroup directory to run in: the policy group's, or the bound memory cgroup's
    if [ -n "${2:-}" ]; then
        sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$2" "$bin" "$size" "$rounds"
    else
        "$bin" "$size" "$rounds"
    fi | awk -v c="$1" -v rel="$(uname -r)" '{ print "roundlog case=" c " kept=" (NR > 1) " kernel=" rel " " $0 }' >>"$work/all"
}

if grep -qw policy /proc/cgroups; then
    if ! grep -q " $root cgroup " /proc/mounts; then
        mkdir -p "$root"
        mount -t cgroup -o policy none "$root"
        mounted=1
    fi
    mkdir "$group"
    echo fast >"$group/policy.swap.tiers"
    # The bound case's memory cgroup: a process that enters it joins the group, and its anonymous memory
    # is charged there.
    grep -qw memory /sys/fs/cgroup/cgroup.subtree_control || echo +memory >/sys/fs/cgroup/cgroup.subtree_control
    mkdir "$memcg"
    echo "+/${memcg##*/}" >"$group/policy.bind"
    bound=1
    case $only in
        nogroup) segment nogroup ;;
        group) segment group "$group" ;;
        bound) segment bound "$memcg" ;;
        *) segment nogroup; segment group "$group"; segment bound "$memcg"
           segment bound "$memcg"; segment group "$group"; segment nogroup ;;
    esac
else
    case $only in
        "") segment nogroup; segment nogroup_b; segment nogroup_b; segment nogroup_b; segment nogroup_b
            segment nogroup ;;
        *) segment nogroup ;;
    esac
fi
cat "$work/all"
if [ -n "$kallsyms" ]; then cat /proc/kallsyms >"$kallsyms"; fi
