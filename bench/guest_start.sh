#!/usr/bin/env bash
# How long a test guest takes from `vm/up.sh` to answering on SSH: a cold boot against a start from the saved,
# booted state (docs/testing-vms.md, "Saved states").
#
#   bench/guest_start.sh [KERNEL [STARTS]]     KERNEL: a bzImage or "stock" (default stock); STARTS default 3
#
# One cold boot with saved states turned off (VM_SAVED_STATE=off), then STARTS guests as the harness starts
# them: the first of these boots cold and saves its state when none fits yet (reported as such), the others
# start from the saved state. Prints each time, the median start from the saved state (the lower middle one
# of an even count) and the ratio to the cold boot. The guest (bench-start) is stopped after each start and at
# exit.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
kernel=${1:-stock} starts=${2:-3}
guest=bench-start
log=.cache/bench-guest-start.log
trap 'vm/down.sh "${guest}" >/dev/null 2>&1 || true' EXIT
mkdir -p .cache
vm/image.sh >/dev/null

# start ENV...: run vm/up.sh under env ENV..., set T (its wall time in seconds) and HOW (how the guest came up),
# stop the guest again.
start() {
    local t0=${EPOCHREALTIME}
    env "$@" vm/up.sh "${guest}" "${kernel}" 2>"${log}" >/dev/null || { cat "${log}" >&2; return 1; }
    T=$(awk -v a="${t0}" -v b="${EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a }')
    HOW=cold
    grep -q '(restored' "${log}" && HOW=restored
    grep -q 'booted state saved' "${log}" && HOW="cold, state saved"
    vm/down.sh "${guest}" >/dev/null
}

printf 'guest start, kernel %s, load average %s\n' "${kernel}" "$(cut -d' ' -f1 /proc/loadavg)"
start VM_SAVED_STATE=off || { echo "guest_start: the cold boot failed" >&2; exit 1; }
cold=${T}
printf '  %-28s %6s s\n' "cold boot (saved states off)" "${cold}"
restored=()
for i in $(seq "${starts}"); do
    start || { echo "guest_start: start ${i} failed" >&2; exit 1; }
    printf '  %-28s %6s s  %s\n' "start ${i}" "${T}" "${HOW}"
    if [[ "${HOW}" == restored ]]; then restored+=("${T}"); fi
done
if [[ ${#restored[@]} -gt 0 ]]; then
    median=$(printf '%s\n' "${restored[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    printf '  %-28s %6s s\n' "median start, saved state" "${median}"
    awk -v c="${cold}" -v m="${median}" 'BEGIN { printf "  %-28s %6.1f x\n", "cold boot / saved state", c / m }'
fi
