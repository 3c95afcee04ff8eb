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

# guest_alive NAME: the QEMU process this harness started for NAME is still running.
guest_alive() {
    local dir pid
    dir=$(guest_dir "$1")
    [[ -f "${dir}/qemu.pid" ]] || return 1
    pid=$(<"${dir}/qemu.pid")
    [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null && [[ -r "/proc/${pid}/cmdline" ]] \
        && tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q -- "-name ${1} "
}

# stop_reboot_watch NAME: end the guest's vm/reboot-watch.sh (if its recorded PID is still that watcher) with its
# whole process group (it leads a session of its own): its wait for QEMU's exit, and the launcher of a QEMU it is
# starting, which then gives up (a QEMU that started already has written qemu.pid: the caller stops it).
stop_reboot_watch() {
    local dir pid
    dir=$(guest_dir "$1")
    [[ -f "${dir}/reboot-watch.pid" ]] || return 0
    pid=$(<"${dir}/reboot-watch.pid")
    if [[ -n "${pid}" && -r "/proc/${pid}/cmdline" ]] \
        && tr '\0' ' ' <"/proc/${pid}/cmdline" | grep -q -- "reboot-watch.sh ${1} "; then
        kill -- "-${pid}" 2>/dev/null || kill "${pid}" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "${pid}" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "${dir}/reboot-watch.pid"
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
