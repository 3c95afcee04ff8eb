# shellcheck shell=bash
# Shared helpers for the VM harness scripts in vm/. Sourced, never executed.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "${VM_DIR}/.." && pwd)
VM_CACHE="${REPO_ROOT}/.cache/vm"
VM_GUESTS="${VM_CACHE}/guests"
VM_KEY="${VM_CACHE}/id_ed25519"

log() { printf '%s %s\n' "[vm $(date -u +%H:%M:%S)]" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=scripts/lib/apt.sh
source "${REPO_ROOT}/scripts/lib/apt.sh"

# ensure_packages PKG...: the Debian packages PKG... installed (ensure_debs), or the script ends.
ensure_packages() {
    ensure_debs "$@" || die "could not install the Debian packages $*"
}

# ssh_key: the harness's own key pair, generated once and kept in the cache.
ssh_key() {
    mkdir -p "${VM_CACHE}"
    if [[ ! -f "${VM_KEY}" ]]; then
        ssh-keygen -q -t ed25519 -N '' -C policygroups-test-vm -f "${VM_KEY}"
    fi
    printf '%s\n' "${VM_KEY}"
}

# Options for talking to throwaway guests: host keys change with every image build.
# shellcheck disable=SC2034  # used by the scripts that source this file
SSH_OPTS=(
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR
    -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=5
    -o ServerAliveInterval=5 -o ServerAliveCountMax=6
)

guest_dir() { printf '%s/%s\n' "${VM_GUESTS}" "$1"; }
# guest_qmp NAME COMMAND[=JSON]...: QMP commands to the guest's QEMU, in order (vm/qmp.py)
guest_qmp() { python3 "${VM_DIR}/qmp.py" "$(guest_dir "$1")/qmp.sock" "${@:2}"; }

# guest_alive NAME: the QEMU process this harness started for NAME is still running.
guest_alive() {
    local dir pid
    dir=$(guest_dir "$1")
    [[ -f "${dir}/qemu.pid" ]] || return 1
    pid=$(<"${dir}/qemu.pid")
    [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null && [[ -r "/proc/${pid}/cmdline" ]] \
        && tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q -- "-name ${1} "
}

# stop_pid PID: end process PID with TERM and, if it still runs 5 s later, KILL; wait up to 5 s more. Returns 1
# if it outlived that.
stop_pid() {
    kill "$1" 2>/dev/null || return 0
    timeout 5 tail --pid="$1" -s 0.1 -f /dev/null && return 0
    kill -9 "$1" 2>/dev/null || return 0
    timeout 5 tail --pid="$1" -s 0.1 -f /dev/null
}

# stop_guest NAME: end the QEMU this harness started for NAME (stop_pid), if it runs. Returns 1 if it survived.
stop_guest() {
    guest_alive "$1" || return 0
    stop_pid "$(<"$(guest_dir "$1")/qemu.pid")"
}

# reboot_watcher NAME: print the PID of the guest's vm/reboot-watch.sh and return 0 while it runs (the recorded
# PID, if that process is still the watcher of NAME: a PID can be reused); return 1 otherwise.
reboot_watcher() {
    local file pid
    file="$(guest_dir "$1")/reboot-watch.pid"
    [[ -f "${file}" ]] || return 1
    pid=$(<"${file}")
    if [[ -n "${pid}" && -r "/proc/${pid}/cmdline" ]] \
        && tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q -- "reboot-watch.sh ${1} "; then
        echo "${pid}"
        return 0
    fi
    return 1
}

# stop_reboot_watch NAME: end the guest's vm/reboot-watch.sh (if it runs) with its whole process group (it leads
# a session of its own): its wait for QEMU's exit, and the launcher of a QEMU it is starting, which then gives up
# (a QEMU that started already has written qemu.pid: the caller stops it).
stop_reboot_watch() {
    local pid
    if pid=$(reboot_watcher "$1"); then
        kill -- "-${pid}" 2>/dev/null || kill "${pid}" 2>/dev/null || true
        timeout 1 tail --pid="${pid}" -s 0.1 -f /dev/null || true
    fi
    rm -f "$(guest_dir "$1")/reboot-watch.pid"
}

# cached_build KIND HASH BUILD_FN GUEST_ENV_KEY: print ${VM_CACHE}/KIND/HASH, building it first when it has no
# manifest. BUILD_FN OUT TMP builds into TMP and moves it to OUT; builds of one KIND are serialised by a lock
# and start from an empty TMP. Afterwards other entries of KIND are removed unless a guest's guest.env still
# names one (GUEST_ENV_KEY=dir: a running guest's overlay is backed by it). While BUILD_FN runs, the lock's file
# descriptor is in CACHED_BUILD_LOCK: a build that starts a long-lived process (a daemonised QEMU) closes it for
# that process with {CACHED_BUILD_LOCK}>&-, or the process would hold the lock.
cached_build() {
    local kind=$1 hash=$2 build_fn=$3 env_key=$4
    local dir="${VM_CACHE}/${kind}" out="${VM_CACHE}/${kind}/${hash}" old
    if [[ ! -f "${out}/manifest" ]]; then
        mkdir -p "${dir}"
        exec {CACHED_BUILD_LOCK}>"${dir}.lock"
        flock "${CACHED_BUILD_LOCK}"
        if [[ ! -f "${out}/manifest" ]]; then
            local tmp="${dir}/.build-${hash}-$$"
            rm -rf --one-file-system "${dir}/.build-${hash}-"*
            mkdir -p "${tmp}"
            "${build_fn}" "${out}" "${tmp}"
            for old in "${dir}"/*/; do
                old=${old%/}
                [[ "${old}" == "${out}" || ! -d "${old}" ]] && continue
                grep -qs -F "${env_key}=${old}" "${VM_GUESTS}"/*/guest.env && continue
                log "removing superseded ${kind%s} ${old##*/}"
                rm -rf --one-file-system "${old}"
            done
        fi
        exec {CACHED_BUILD_LOCK}>&-
    fi
    printf '%s\n' "${out}"
}

# emulator_oops: the console of one boot, on stdin, ends in an int3 trap in interrupt context before the kernel
# ran init (printk timestamps, when a kernel has them, are allowed for). Jump labels patch kernel text at boot
# with text_poke_bp(), which puts an int3 on the instruction while it is rewritten; under multi-threaded TCG
# another vCPU can run a stale translation of it after the patching finished, and the trap finds no patch in
# progress ("Oops: int3", then "Fatal exception in interrupt"). The emulator's, not the kernel's: the same kernel
# boots on the next try (docs/testing-vms.md).
emulator_oops() {
    local ts='^(\[ *[0-9.]+\] )?' text
    text=$(cat)
    grep -Eq "${ts}Oops: int3" <<<"${text}" \
        && grep -Eq "${ts}Kernel panic - not syncing: Fatal exception in interrupt" <<<"${text}" \
        && ! grep -Eq -e 'as init process' -e "${ts}systemd\[1\]" <<<"${text}"
}

# PANIC_LINE: the line a kernel panic starts with (not its "---[ end Kernel panic" trailer).
PANIC_LINE='^(\[ *[0-9.]+\] )?Kernel panic - not syncing'

# POWER_CYCLED: the line vm/reboot-watch.sh adds to a guest's console when it started the machine again after
# an emulator oops in the early boot that followed a reboot.
POWER_CYCLED='reboot-watch: power-cycled after an emulator oops in early boot'

# current_boot FILE: the console log FILE from the start of the guest's current boot (after its last "reboot:
# Restarting system" line or power cycle).
current_boot() {
    awk -v cycled="${POWER_CYCLED}" 'index($0, "reboot: Restarting system") || index($0, cycled) == 1 { buf = ""; next }
         { buf = buf $0 "\n" } END { printf "%s", buf }' "$1"
}

# console_failure NAME: print why and return 0 when the guest's console shows a failure that nothing will
# repair: a line of vm/reboot-watch.sh saying the guest stays down, or a kernel panic, except an emulator oops
# in the current boot of a guest whose reboot watcher runs (it starts the machine again). Returns 1 otherwise.
console_failure() {
    local dir console panics cycles
    dir=$(guest_dir "$1")
    console="${dir}/console.log"
    [[ -f "${console}" ]] || return 1
    if grep -a -m1 '^reboot-watch.sh:' "${console}"; then
        return 0
    fi
    panics=$(grep -a -E -c "${PANIC_LINE}" "${console}" || true)
    cycles=$(grep -a -c -F -x "${POWER_CYCLED}" "${console}" || true)
    (( panics > cycles )) || return 1
    if (( panics == cycles + 1 )) && reboot_watcher "$1" >/dev/null && current_boot "${console}" | emulator_oops; then
        return 1
    fi
    echo "kernel panic: $(grep -a -E "${PANIC_LINE}" "${console}" | tail -n 1)"
    return 0
}

# panic_excerpt FILE [LINES]: the console log FILE from its last kernel panic on, with the 15 lines before (at most
# LINES, default 40). Prints nothing when FILE shows no panic.
panic_excerpt() {
    local last
    last=$(grep -a -n -E "${PANIC_LINE}" "$1" 2>/dev/null | tail -n 1 | cut -d: -f1 || true)
    [[ -n "${last}" ]] || return 0
    tail -n "+$((last > 15 ? last - 15 : 1))" "$1" | head -n "${2:-40}"
}
