# shellcheck shell=bash
# Installing Debian packages, for the project's scripts (vm/lib.sh, kernel/build.sh, scripts/test-static.sh).
# Sourced, never executed.

# ensure_debs PKG...: install those of the Debian packages PKG... that are not installed yet (through sudo when not
# root). Nothing runs, not even apt-get update, when all are installed. Returns apt-get's status: the caller says
# what a failure means to it. apt-get update does not wait for another one's lock (DPkg::Lock::Timeout is dpkg's
# only), so the scripts that install packages, which CI runs side by side, take turns on .cache/apt.lock.
ensure_debs() {
    local missing=() pkg lock rc=0 sudo=() root
    for pkg in "$@"; do
        [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "${pkg}" 2>/dev/null)" == "ii " ]] || missing+=("${pkg}")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    echo "installing Debian packages: ${missing[*]}" >&2
    [[ ${EUID} -eq 0 ]] || sudo=(sudo)
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    mkdir -p "${root}/.cache"
    exec {lock}>"${root}/.cache/apt.lock"
    if ! flock -w 1800 "${lock}"; then
        echo "waited 30 minutes for another package installation (.cache/apt.lock)" >&2
        exec {lock}>&-
        return 1
    fi
    # (through env: sudo's env_reset would drop a variable set before it)
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 update >/dev/null \
        && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 install -y \
            --no-install-recommends "${missing[@]}" >/dev/null \
        || rc=$?
    exec {lock}>&-
    [[ ${rc} -eq 0 ]] || echo "installing ${missing[*]} failed (apt-get exit ${rc})" >&2
    return "${rc}"
}
