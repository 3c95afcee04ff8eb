# shellcheck shell=bash
# Shared helpers for the VM harness scripts in vm/. Sourced, never executed.

VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "${VM_DIR}/.." && pwd)
VM_CACHE="${REPO_ROOT}/.cache/vm"
VM_GUESTS="${VM_CACHE}/guests"
VM_KEY="${VM_CACHE}/id_ed25519"

log() { printf '%s %s\n' "[vm $(date -u +%H:%M:%S)]" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# ensure_packages PKG...: apt-get install the Debian packages that are not installed yet.
# Quiet (no apt-get update) when everything is present already.
ensure_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        if [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "${pkg}" 2>/dev/null)" != "ii " ]]; then
            missing+=("${pkg}")
        fi
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "installing ${missing[*]}"
    local sudo=()
    [[ ${EUID} -ne 0 ]] && sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get -qq -o DPkg::Lock::Timeout=600 update >/dev/null
    "${sudo[@]}" apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
        "${missing[@]}" >/dev/null
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
