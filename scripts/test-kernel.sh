#!/usr/bin/env bash
# Build the reference kernel (kernel/build.sh: the series applies, checkpatch --strict is clean, it builds) and
# boot it in a QEMU guest for a smoke test of the policy-group ABI (docs/policyfs-abi.md): the controller is
# registered, the hierarchy mounts, abi_version and features read back, a group is created, THP and OOM policy
# reach a member process, a bad value and removing a busy group are refused, the group is removed again.
# The full selftest (test_policy) is built into the result directory; see docs/kernel.md for running it.
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
vm/up.sh "${guest}" "${kdir}/bzImage"
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
sleep 1   # let the child exec sleep first: a join racing with execve is a separate case (docs/kernel.md)
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
for _ in 1 2 3 4 5 6 7 8 9 10; do rmdir "$R/smoke" 2>/dev/null && break; sleep 0.5; done
[ ! -d "$R/smoke" ] || fail "empty group could not be removed"; ok "empty group removed"
echo "smoke: all checks passed"
SMOKE
echo "test-kernel: passed in $((SECONDS - t0)) s"
