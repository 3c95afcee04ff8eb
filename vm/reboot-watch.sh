#!/usr/bin/env bash
# Carry out a test guest's reboots in a new QEMU process (started by vm/up.sh, stopped by vm/down.sh).
#
#   vm/reboot-watch.sh NAME
#
# vm/up.sh starts every guest's QEMU with -no-reboot, so the reset a guest asks for when it reboots ends its
# QEMU process. This watcher then starts the machine again with the same command line (.cache/vm/guests/NAME/
# qemu.args: the same disks, port, kernel and identity, never the saved state it may have been restored from),
# its console appended to the same log: the guest boots cold through its firmware and the -kernel or GRUB, as
# after a power cycle.
#
# Why not QEMU's own reset: under software emulation (TCG) a reset keeps the code QEMU translated for the old
# kernel, and every store to a page that still holds such code takes QEMU's slow path until the page is clean.
# The next kernel's decompressor writes over those pages a byte at a time: from the reset to the kernel's first
# line took 7-34 s, against 1 s in a new process (docs/testing-vms.md).
#
# Only an exit that follows a new "reboot: Restarting system" line in the console is a reboot. A power-off, a
# kill, a triple fault or any other exit ends the watcher and the guest stays down, for the test to see: that,
# and a restart that failed, end in a line "reboot-watch.sh: ..." in the console log, where the waits for a
# rebooting guest look (vm/console-check.sh, from extensions/molecule/policyfs/reboot.yml and scripts/demo.sh).
# A boot after a reboot that ends in an emulator oops before init (emulator_oops in vm/lib.sh) is powered off and
# started once more; a kernel panic of any other kind is left for the test to see.
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 NAME" >&2; exit 2; }
NAME=$1
DIR=$(guest_dir "${NAME}")

# Nothing inherited stays open (a caller's lock would be held for the guest's lifetime, and so by its QEMU).
for fd in "/proc/$$/fd"/*; do
    fd=${fd##*/}
    if (( fd > 2 )); then eval "exec ${fd}>&-" 2>/dev/null || true; fi
done

echo "$$" >"${DIR}/reboot-watch.pid"   # vm/down.sh stops this process group by it (setsid made it its leader)

reboots() { grep -a -c 'reboot: Restarting system' "${DIR}/console.log" 2>/dev/null || true; }

# stays_down WHY: say why the guest stays down, here and in its console log, where the tests waiting for a
# rebooting guest look (a power-off's console ends with it too).
stays_down() {
    log "${NAME}: $1"
    echo "reboot-watch.sh: $1" >>"${DIR}/console.log"
}

# start_again: start the machine again with its command line; the guest stays down when QEMU does not start.
start_again() {
    local args
    mapfile -d '' args <"${DIR}/qemu.args"
    if ! qemu-system-x86_64 -name "${NAME}" "${args[@]}" 2>>"${DIR}/qemu.err"; then
        stays_down "QEMU did not start again after the guest's reboot: $(tail -n 3 "${DIR}/qemu.err" | tr '\n' ' ')"
        exit 1
    fi
    sed -i "s/^PID=.*/PID=$(<"${DIR}/qemu.pid")/" "${DIR}/guest.env"
}

# early_boot OFFSET: follow the boot the QEMU in qemu.pid started (its console from byte OFFSET) until the kernel
# runs init, panics or QEMU exits, for at most 300 s (a kernel booted with "quiet" does not say when it runs
# init); returns 1 when it ended in an emulator oops (emulator_oops in vm/lib.sh).
early_boot() {
    local pid boot t0=${SECONDS}
    pid=$(<"${DIR}/qemu.pid")
    while kill -0 "${pid}" 2>/dev/null && (( SECONDS - t0 < 300 )); do
        boot=$(tail -c "+$(($1 + 1))" "${DIR}/console.log")
        if grep -Eq "${PANIC_LINE}" <<<"${boot}"; then
            emulator_oops <<<"${boot}" && return 1
            return 0
        fi
        grep -Eq -e 'as init process' -e 'systemd\[1\]' <<<"${boot}" && return 0
        sleep 0.5
    done
    return 0
}

seen=$(reboots)
while :; do
    pid=$(cat "${DIR}/qemu.pid" 2>/dev/null) || exit 0
    tail --pid="${pid}" -s 0.1 -f /dev/null
    [[ -f "${DIR}/qemu.args" ]] || exit 0   # vm/down.sh removed the guest
    now=$(reboots)
    if (( now <= seen )); then
        stays_down "QEMU ${pid} exited without a reboot; the guest stays down"
        exit 0
    fi
    seen=${now}
    # A boot that ends in an emulator oops before init is powered off and started once more, as vm/up.sh does
    # for a first boot; the console keeps it, followed by the power-cycle line (console_failure in
    # vm/lib.sh does not count it as the guest's panic), and a copy goes to .cache/vm/panics/.
    for try in 1 2; do
        offset=$(stat -c %s "${DIR}/console.log")
        start_again
        early_boot "${offset}" && break
        if (( try == 2 )); then
            stays_down "an emulator oops in early boot again after the power cycle; the guest stays down"
            exit 1
        fi
        stop_pid "$(<"${DIR}/qemu.pid")" || true   # power off
        mkdir -p "${VM_CACHE}/panics"
        tail -c "+$((offset + 1))" "${DIR}/console.log" >"${VM_CACHE}/panics/${NAME}-$(date +%Y%m%d-%H%M%S).log"
        log "${NAME}: emulator oops in the early boot after a reboot; starting the machine again"
        echo "${POWER_CYCLED}" >>"${DIR}/console.log"
    done
    echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) QEMU ${pid} exited on the guest's reboot; started $(<"${DIR}/qemu.pid")" \
        >>"${DIR}/reboots.log"
done
