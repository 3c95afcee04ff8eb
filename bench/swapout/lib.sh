# shellcheck shell=bash
# Shared by the host scripts of the swap-out benchmark (run.sh, profile.sh, qemu_profile.sh). Sourced, never run.
# Sets here (this directory) and repo; the scripts set out (their output directory) and guest (the guest's name)
# before they call these.

# shellcheck disable=SC2034,SC2154  # variables set for the scripts that source this file, and by them
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

# one_case_args DEFAULT_SIZE DEFAULT_ROUNDS [outside|inside|bound [SIZE_MIB [ROUNDS]]]: the arguments of the scripts
# that run one case per kernel, into setup, size, rounds and case (guest.sh --only: nogroup outside, group inside,
# bound in the memory cgroup bound to the group).
one_case_args() {
    setup=${3:-outside}
    size=${4:-$1}
    rounds=${5:-$2}
    case $setup in
        outside) case=nogroup ;;
        inside) case=group ;;
        bound) case=bound ;;
        *) echo "usage: $0 [outside|inside|bound [SIZE_MIB [ROUNDS]]]" >&2; exit 2 ;;
    esac
}

# kernels: stock and patched, the kernel directories (with a bzImage) compared: SWAPOUT_STOCK and SWAPOUT_PATCHED,
# else the unpatched and the reference build of kernel/build.sh.
kernels() {
    patched=${SWAPOUT_PATCHED:-$("$repo/kernel/build.sh" | tail -n1)}
    stock=${SWAPOUT_STOCK:-$("$repo/kernel/build.sh" --unpatched | tail -n1)}
}

# build_swapout: the benchmark's static binary, $out/swapout.
build_swapout() {
    gcc -static -O2 -Wall -Wextra -o "$out/swapout" "$here/swapout.c"
}

# boot_variant VARIANT [PLUGIN]: a cold boot (not a saved state: the boots are what varies between runs) of the
# variant's kernel (stock or patched) as $guest, its emulator loading PLUGIN if given (vm/up.sh's VM_PLUGIN), with
# the benchmark's binary and guest.sh copied to /root.
boot_variant() {
    local kdir=$stock
    [[ $1 == patched ]] && kdir=$patched
    VM_SAVED_STATE=off VM_PLUGIN=${2:-} "$repo/vm/up.sh" "$guest" "$kdir/bzImage" >/dev/null
    "$repo/vm/scp.sh" "$guest" "$out/swapout" "$here/guest.sh" :/root/ >/dev/null
}

# mib_swapped ROUNDS_FILE: MiB swapped out by every round of guest.sh's output, the dropped warm-up rounds too (a
# profile covers them all).
mib_swapped() {
    awk '$1 == "roundlog" { for (i = 2; i <= NF; i++) if ($i ~ /^mib=/) { split($i, kv, "="); m += kv[2] } }
        END { printf "%.1f", m }' "$1"
}
