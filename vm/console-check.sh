#!/usr/bin/env bash
# Whether a test guest's console shows a failure that nothing will repair: for the waits on a rebooting guest.
#
#   vm/console-check.sh NAME
#
# Exit status 1, and the reason on stdout (then the console from the last panic on, if one), when the console of the guest NAME (started by vm/up.sh) has a line of
# vm/reboot-watch.sh saying the guest stays down, or a kernel panic; an emulator oops in the early boot after a
# reboot is not one while the guest's reboot watcher runs, which starts the machine again (console_failure in
# vm/lib.sh). Exit status 0 otherwise, also for a guest that has no console (yet).
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -eq 1 ]] || { echo "usage: $0 NAME" >&2; exit 2; }
if console_failure "$1"; then
    panic_excerpt "$(guest_dir "$1")/console.log"
    exit 1
fi
exit 0
