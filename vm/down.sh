#!/usr/bin/env bash
# Stop test guests started by vm/up.sh and remove their overlays.
#
#   vm/down.sh NAME...     stop these guests
#   vm/down.sh --all       stop every guest under .cache/vm/guests/
#
# Only the processes whose PIDs vm/up.sh recorded (and whose command lines name the guest) are signalled:
# the guest's vm/reboot-watch.sh, then its QEMU (TERM, then KILL after 5 s). The console log is kept in
# .cache/vm/logs/NAME.console.log.
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 ]] || { echo "usage: $0 NAME...|--all" >&2; exit 2; }

names=()
if [[ "$1" == --all ]]; then
    if [[ -d "${VM_GUESTS}" ]]; then
        for d in "${VM_GUESTS}"/*/; do
            [[ -d "${d}" ]] && names+=("$(basename "${d}")")
        done
    fi
else
    names=("$@")
fi

status=0
for name in "${names[@]}"; do
    dir=$(guest_dir "${name}")
    [[ -d "${dir}" ]] || continue
    # Its reboot watcher first, or it would start the machine again.
    stop_reboot_watch "${name}"
    if guest_alive "${name}"; then
        pid=$(<"${dir}/qemu.pid")
        if ! stop_guest "${name}"; then
            log "${name}: QEMU ${pid} survived SIGKILL"
            status=1
            continue
        fi
        log "${name}: stopped (pid ${pid})"
    fi
    mkdir -p "${VM_CACHE}/logs"
    [[ -f "${dir}/console.log" ]] && mv -f "${dir}/console.log" "${VM_CACHE}/logs/${name}.console.log"
    rm -rf "${dir}"
done
exit "${status}"
