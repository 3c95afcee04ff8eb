#!/usr/bin/env bash
# Build the reference kernel (kernel/build.sh: the series applies, checkpatch --strict is clean, it builds) and
# boot it in a QEMU guest for a smoke test of the policy-group ABI (docs/policyfs-abi.md): the controller is
# registered, the hierarchy mounts, abi_version and features read back, a group is created, THP and OOM policy
# reach a member process (also when it joins while it execs), a bad value and removing a busy group are refused,
# a cgroup v2 path and a systemd service are bound (members follow, also after the service restarts, and the
# service's THP and KSM values reach its own address space, never that of PID 1, which starts it with
# posix_spawn straight into its cgroup), the group is removed again. Then the kernel's own selftest (test_policy, built by kernel/build.sh) runs in the
# guest, which has two NUMA nodes: every test on the guest's swap devices (zram0 fast, the virtual disk slow), then
# the tiers-file test with swap off (it defines layouts that would move active devices).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
guest=ksmoke
t0=${SECONDS}

cleanup() { vm/down.sh "${guest}" >/dev/null 2>&1 || true; }
trap cleanup EXIT

kernel/build.sh | tee .cache/test-kernel-build.log
kdir=$(tail -n1 .cache/test-kernel-build.log)
[[ -f "${kdir}/bzImage" ]] || { echo "test-kernel: kernel/build.sh printed no build directory" >&2; exit 1; }
echo "test-kernel: kernel built in $((SECONDS - t0)) s"

vm/image.sh >/dev/null
t1=${SECONDS}
# Two NUMA nodes, so that the selftest sees policy.numa place memory on a node and interleave it.
vm/up.sh "${guest}" "${kdir}/bzImage" --numa 2
echo "test-kernel: guest up in $((SECONDS - t1)) s"

vm/ssh.sh "${guest}" bash -s <<'SMOKE'
set -eu
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }
R=/sys/fs/cgroup/policy
uname -r
grep -qw policy /proc/cgroups || fail "no 'policy' controller in /proc/cgroups"; ok "policy controller registered"
mkdir -p "$R"
mountpoint -q "$R" || mount -t cgroup -o policy none "$R"; ok "hierarchy mounted at $R"
[ "$(cat "$R/policy.abi_version")" = 1 ] || fail "abi_version is not 1"; ok "abi_version 1"
echo "features: $(cat "$R/policy.features")"
[ -r /sys/kernel/mm/swap/tiers ] || fail "no /sys/kernel/mm/swap/tiers"; ok "swap tiers file present"
mkdir "$R/smoke"
echo never > "$R/smoke/policy.thp"
[ "$(cat "$R/smoke/policy.thp")" = never ] || fail "policy.thp did not read back"
echo 300 > "$R/smoke/policy.oom_score_adj"
sleep 600 &
pid=$!
echo "$pid" > "$R/smoke/cgroup.procs"
grep -qx "$pid" "$R/smoke/cgroup.procs" || fail "member not listed in cgroup.procs"; ok "process $pid joined"
grep -q '^THP_enabled:[[:space:]]*0' "/proc/$pid/status" || {
    grep THP "/proc/$pid/status"; fail "THP_enabled is not 0 for a member of a 'never' group"; }
ok "THP_enabled 0 for the member"
[ "$(cat "/proc/$pid/oom_score_adj")" = 300 ] || fail "oom_score_adj of the member is not 300"; ok "oom_score_adj 300"
if echo bogus > "$R/smoke/policy.thp" 2>/dev/null; then fail "policy.thp accepted 'bogus'"; fi
[ "$(cat "$R/smoke/policy.thp")" = never ] || fail "a refused write changed policy.thp"; ok "bad value refused, nothing changed"
if echo 5000 > "$R/smoke/policy.oom_score_adj" 2>/dev/null; then fail "oom_score_adj 5000 accepted"; fi
ok "out-of-range oom_score_adj refused"
if rmdir "$R/smoke" 2>/dev/null; then fail "removed a group that has a member"; fi; ok "busy group not removed"
kill "$pid"; wait "$pid" 2>/dev/null || true
# a join racing with execve: the new image must get the group's values (policy_exec_mm)
for i in $(seq 1 20); do
    sleep 600 &
    pid=$!
    echo "$pid" > "$R/smoke/cgroup.procs"
    for _ in $(seq 1 50); do [ "$(cat "/proc/$pid/comm")" = sleep ] && break; sleep 0.1; done
    grep -q '^THP_enabled:[[:space:]]*0' "/proc/$pid/status" || {
        grep THP "/proc/$pid/status"; fail "join racing with execve, round $i: THP_enabled is not 0"; }
    kill "$pid"; wait "$pid" 2>/dev/null || true
done
ok "20 joins racing with execve kept THP never"
# bindings: a cgroup v2 directory, then a systemd service started, bound, stopped and started again
mkdir "$R/bound"
echo 123 > "$R/bound/policy.oom_score_adj"
echo never > "$R/bound/policy.thp"
echo 1 > "$R/bound/policy.ksm"
# PID 1 starts services with posix_spawn (CLONE_VM|CLONE_VFORK) straight into their cgroup: the bound group's
# per-mm values must reach the service's own address space, never PID 1's
pid1_thp=$(sed -n 's/^THP_policy:[[:space:]]*//p' /proc/1/status)
pid1_ksm=$(sed -n 's/^ksm_merge_any:[[:space:]]*//p' /proc/1/ksm_stat)
[ -n "$pid1_thp" ] && [ -n "$pid1_ksm" ] || fail "PID 1 shows no THP_policy or ksm_merge_any"
mkdir -p /sys/fs/cgroup/smoke-bind
echo +/smoke-bind > "$R/bound/policy.bind"
[ "$(cat "$R/bound/policy.bind")" = /smoke-bind ] || fail "policy.bind does not list /smoke-bind"
sh -c 'echo $$ > /sys/fs/cgroup/smoke-bind/cgroup.procs; exec sleep 600' &
pid=$!
for _ in $(seq 1 50); do grep -qx "$pid" "$R/bound/cgroup.procs" && break; sleep 0.1; done
grep -qx "$pid" "$R/bound/cgroup.procs" || fail "a process entering a bound cgroup did not join the group"
[ "$(cat "/proc/$pid/oom_score_adj")" = 123 ] || fail "oom_score_adj of a bound member is not 123"
ok "process entering a bound cgroup v2 directory joined the group"
kill "$pid"; wait "$pid" 2>/dev/null || true
if echo +/smoke-bind > "$R/smoke/policy.bind" 2>/dev/null; then fail "bound a cgroup to a second group"; fi
ok "second binding of a cgroup refused"
systemd-run --quiet --collect --unit=smoke-svc sleep 600
echo +/system.slice/smoke-svc.service > "$R/bound/policy.bind"
main=$(systemctl show -P MainPID smoke-svc)
grep -qx "$main" "$R/bound/cgroup.procs" || fail "main process $main of a bound service is not in the group"
systemctl restart smoke-svc   # systemd removes the service's cgroup and creates it again
new_main=$(systemctl show -P MainPID smoke-svc)
[ "$new_main" != "$main" ] || fail "smoke-svc did not restart"
grep -qx "$new_main" "$R/bound/cgroup.procs" || fail "restarted service: main process $new_main not in the group"
[ "$(cat "/proc/$new_main/oom_score_adj")" = 123 ] || fail "restarted service: oom_score_adj is not 123"
grep -q '^THP_policy:[[:space:]]*never' "/proc/$new_main/status" || fail "restarted service: THP_policy is not never"
grep -q '^ksm_merge_any:[[:space:]]*yes' "/proc/$new_main/ksm_stat" || fail "restarted service: KSM merge-any is off"
ok "bound systemd service: members follow, also after a restart"
[ "$(sed -n 's/^THP_policy:[[:space:]]*//p' /proc/1/status)" = "$pid1_thp" ] ||
    fail "PID 1's THP_policy changed from $pid1_thp to $(sed -n 's/^THP_policy:[[:space:]]*//p' /proc/1/status)"
[ "$(sed -n 's/^ksm_merge_any:[[:space:]]*//p' /proc/1/ksm_stat)" = "$pid1_ksm" ] ||
    fail "PID 1's ksm_merge_any changed from $pid1_ksm"
ok "PID 1 kept THP_policy $pid1_thp and ksm_merge_any $pid1_ksm while it started a bound service"
if rmdir "$R/bound" 2>/dev/null; then fail "removed a group with bindings"; fi
systemctl stop smoke-svc
echo -/system.slice/smoke-svc.service > "$R/bound/policy.bind"
echo -/smoke-bind > "$R/bound/policy.bind"
rmdir /sys/fs/cgroup/smoke-bind
for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$R/bound" 2>/dev/null && break; sleep 0.5; done
[ ! -d "$R/bound" ] || fail "group could not be removed after unbinding"; ok "unbound group removed"
for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$R/smoke" 2>/dev/null && break; sleep 0.5; done
[ ! -d "$R/smoke" ] || fail "empty group could not be removed"; ok "empty group removed"
echo "smoke: all checks passed"
SMOKE

# The selftest, detached in the guest (a hung test must not hang the SSH session), polled with a deadline.
[[ -f "${kdir}/test_policy" ]] || { echo "test-kernel: no test_policy in ${kdir}" >&2; exit 1; }
vm/scp.sh "${guest}" "${kdir}/test_policy" :/root/
selftest() {  # NAME DEADLINE_S COMMAND...
    local name=$1 deadline=$2 rc
    shift 2
    vm/ssh.sh "${guest}" "rm -f /root/${name}.rc; nohup sh -c '$* > /root/${name}.log 2>&1; echo \$? > /root/${name}.rc' >/dev/null 2>&1 &"
    local t=${SECONDS}
    until vm/ssh.sh "${guest}" "test -f /root/${name}.rc" 2>/dev/null; do
        if ((SECONDS - t > deadline)); then
            vm/ssh.sh "${guest}" "cat /root/${name}.log" || true
            echo "test-kernel: selftest ${name} did not finish within ${deadline} s" >&2
            return 1
        fi
        sleep 3
    done
    vm/ssh.sh "${guest}" "cat /root/${name}.log"
    rc=$(vm/ssh.sh "${guest}" "cat /root/${name}.rc")
    echo "test-kernel: selftest ${name}: exit ${rc} after $((SECONDS - t)) s"
    [[ ${rc} == 0 ]]
}
# shellcheck disable=SC2016  # expanded in the guest
selftest selftest-devices 600 \
    'POLICY_TEST_FAST=/dev/zram0 POLICY_TEST_SLOW=$(readlink -f /dev/disk/by-label/slowswap) /root/test_policy'
# The tier count the kernel was built with, for the selftest to compare with what fits.
nr_tiers=$(sed -n 's/^CONFIG_NR_SWAP_TIERS=//p' "${kdir}/config")
selftest selftest-tiers-file 300 \
    "swapoff -a && POLICY_TEST_NR_SWAP_TIERS=${nr_tiers} /root/test_policy test_swap_tiers_file"
echo "test-kernel: passed in $((SECONDS - t0)) s"
