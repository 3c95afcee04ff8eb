#!/usr/bin/env bash
# How long a test guest takes from `vm/up.sh` to answering on SSH: a cold boot against a start from the saved,
# booted state (docs/testing-vms.md, "Saved states").
#
#   bench/guest_start.sh [KERNEL [STARTS]]     KERNEL: a bzImage or "stock" (default stock); STARTS default 3
#
# One cold boot with saved states turned off (VM_SAVED_STATE=off), then STARTS guests as the harness starts
# them: the first of these boots cold and saves its state when none fits yet (reported as such), the others
# start from the saved state. Prints each time, the median start from the saved state (the lower middle one
# of an even count) and the ratio to the cold boot.
# Then reboots: `systemctl reboot` in the guest until SSH answers with a new boot id, for a guest started from
# the saved state and one that booted cold, each carried out as the harness does (a new QEMU process,
# vm/reboot-watch.sh) and by QEMU's own reset (VM_REBOOT=reset), with the ratio. The guest (bench-start) is
# stopped after each start and at exit.
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

# reboot ENV...: start the guest under env ENV..., reboot it from inside, set T to the seconds from the reboot
# to SSH answering with a new boot id; stop the guest again.
reboot() {
    local before after t0
    env "$@" vm/up.sh "${guest}" "${kernel}" 2>"${log}" >/dev/null || { cat "${log}" >&2; return 1; }
    before=$(vm/ssh.sh "${guest}" cat /proc/sys/kernel/random/boot_id) || return 1
    [[ -n "${before}" ]] || return 1
    t0=${EPOCHREALTIME}
    # (a timer's default accuracy is a minute: without AccuracySec it fired up to that late)
    vm/ssh.sh "${guest}" 'systemd-run --quiet --on-active=1 --timer-property=AccuracySec=100ms systemctl reboot' \
        || return 1
    sleep 1
    for _ in $(seq 600); do
        after=$(timeout 10 vm/ssh.sh "${guest}" cat /proc/sys/kernel/random/boot_id 2>/dev/null || true)
        [[ -n "${after}" && "${after}" != "${before}" ]] && break
        sleep 0.5
    done
    [[ -n "${after}" && "${after}" != "${before}" ]] || { echo "guest_start: no new boot after the reboot" >&2; return 1; }
    T=$(awk -v a="${t0}" -v b="${EPOCHREALTIME}" 'BEGIN { printf "%.1f", b - a - 1 }')   # less the timer's 1 s
    vm/down.sh "${guest}" >/dev/null
}

printf 'reboot (systemctl reboot to SSH with a new boot id)\n'
for started in "saved state" "cold boot"; do
    saved=on
    [[ "${started}" == "cold boot" ]] && saved=off
    reboot VM_SAVED_STATE="${saved}" VM_REBOOT=new-process || exit 1
    fresh=${T}
    reboot VM_SAVED_STATE="${saved}" VM_REBOOT=reset || exit 1
    printf '  %-28s %6s s new QEMU process, %6s s QEMU reset  (reset / new process %.1f x)\n' \
        "after a ${started}" "${fresh}" "${T}" "$(awk -v a="${T}" -v b="${fresh}" 'BEGIN { print a / b }')"
done
