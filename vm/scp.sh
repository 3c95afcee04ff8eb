#!/usr/bin/env bash
# Copy files to or from a test guest. Guest paths start with ':'.
#
#   vm/scp.sh NAME LOCAL... :REMOTE     to the guest
#   vm/scp.sh NAME :REMOTE... LOCAL     from the guest
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 3 ]] || { echo "usage: $0 NAME SRC... DST (guest paths start with ':')" >&2; exit 2; }
name=$1; shift
dir=$(guest_dir "${name}")
[[ -f "${dir}/port" ]] || die "no guest '${name}' (start it with vm/up.sh)"
args=()
for a in "$@"; do
    if [[ "${a}" == :* ]]; then args+=("root@127.0.0.1${a}"); else args+=("${a}"); fi
done
exec scp -q "${SSH_OPTS[@]}" -i "$(ssh_key)" -P "$(<"${dir}/port")" "${args[@]}"
