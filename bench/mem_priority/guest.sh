#!/bin/sh
# Guest side of the memory priority benchmark: a latency-sensitive service (cgroup /mp_bench/fg) and a
# batch job (/mp_bench/bg) of equal size (SERVICE_MB each) fill most of the guest's memory; after a
# warm-up a third job (/mp_bench/hog, HOG_MB, bound to no group, so "normal") starts sweeping its own
# memory and puts the guest under global memory pressure. fg and bg are bound to policy groups: with ARM
# "priority" fg's group has mem_priority high and bg's low, with ARM "plain" both inherit (reclaim as
# without policy groups). Prints one CSV line per sample (about one a second):
#
#   t_s,fg_rss_mb,fg_swap_mb,fg_majflt,bg_rss_mb,bg_swap_mb,bg_majflt,psi_some_avg10,requests,p50_us,p99_us
#
# (rss: memory.current; swap: memory.swap.current; majflt: memory.stat pgmajfault, cumulative; requests
# and latencies: the service's last second). Needs root, the reference kernel (feature mem_priority) and
# active swap (the test guests' zram0 and slowswap). Everything it creates is removed on exit.
#
# Usage: guest.sh MEMLOAD_BINARY ARM [SERVICE_MB [HOG_MB [WARMUP_S [PRESSURE_S]]]]   (450 100 10 30)
set -eu

bin=${1:?usage: guest.sh MEMLOAD_BINARY priority|plain [SERVICE_MB [HOG_MB [WARMUP_S [PRESSURE_S]]]]}
arm=${2:?arm: priority or plain}
size=${3:-450}
hog=${4:-100}
warmup=${5:-10}
pressure=${6:-30}
cg=/sys/fs/cgroup
root=$cg/policy
mounted=0
pids=

cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for g in fg bg; do
        [ -d "$root/mp_$g" ] || continue
        echo "-/mp_bench/$g" >"$root/mp_$g/policy.bind" 2>/dev/null || true
        rmdir "$root/mp_$g" 2>/dev/null || true
    done
    for c in fg bg hog; do rmdir "$cg/mp_bench/$c" 2>/dev/null || true; done
    rmdir "$cg/mp_bench" 2>/dev/null || true
    if [ "$mounted" = 1 ]; then umount "$root" 2>/dev/null || true; fi
}
trap cleanup EXIT INT TERM

die() { echo "guest.sh: $*" >&2; exit 1; }
[ "$(sed -n '2,$p' /proc/swaps | wc -l)" -gt 0 ] || die "no active swap device"
if [ ! -e "$root/policy.features" ]; then
    mkdir -p "$root"
    mount -t cgroup -o policy none "$root" || die "no policy controller (not the reference kernel)"
    mounted=1
fi
grep -qw mem_priority "$root/policy.features" || die "this kernel has no mem_priority"
sync
echo 3 >/proc/sys/vm/drop_caches

echo +memory >"$cg/cgroup.subtree_control"
mkdir "$cg/mp_bench"
echo +memory >"$cg/mp_bench/cgroup.subtree_control"
for c in fg bg hog; do mkdir "$cg/mp_bench/$c"; done
for g in fg bg; do
    mkdir "$root/mp_$g"
    echo "+/mp_bench/$g" >"$root/mp_$g/policy.bind"
done
if [ "$arm" = priority ]; then
    echo high >"$root/mp_fg/policy.mem_priority"
    echo low >"$root/mp_bg/policy.mem_priority"
fi

# start a workload in a cgroup: the shell joins it, then becomes the workload
run() {
    sh -c "echo \$\$ >$cg/mp_bench/$1/cgroup.procs && exec $bin $2 $3" >"/tmp/mp_$1.out" 2>&1 &
    pids="$pids $!"
}
run fg service "$size"
run bg batch "$size"

rss() { echo $(( $(cat "$cg/mp_bench/$1/memory.current") >> 20 )); }
swp() { echo $(( $(cat "$cg/mp_bench/$1/memory.swap.current") >> 20 )); }
majflt() { sed -n 's/^pgmajfault //p' "$cg/mp_bench/$1/memory.stat"; }
psi() { sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/memory; }
svc() {
    line=$(tail -n 1 /tmp/mp_fg.out 2>/dev/null)
    case $line in
        t=*) echo "$line" | sed 's/.*requests=\([0-9]*\) p50_us=\([0-9]*\) p99_us=\([0-9]*\)/\1,\2,\3/' ;;
        *) echo ",," ;;
    esac
}

echo "t_s,fg_rss_mb,fg_swap_mb,fg_majflt,bg_rss_mb,bg_swap_mb,bg_majflt,psi_some_avg10,requests,p50_us,p99_us"
start=$(cut -d' ' -f1 /proc/uptime)
elapsed() { awk -v s="$start" '{ printf "%.1f", $1 - s }' /proc/uptime; }
hog_started=0
while :; do
    sleep 1
    t=$(elapsed)
    if [ "$hog_started" = 0 ] && [ "${t%.*}" -ge "$warmup" ]; then
        run hog batch "$hog"
        hog_started=1
    fi
    echo "$t,$(rss fg),$(swp fg),$(majflt fg),$(rss bg),$(swp bg),$(majflt bg),$(psi),$(svc)"
    [ "${t%.*}" -ge $(( warmup + pressure )) ] && break
done
