#!/usr/bin/env bash
# Run a command in a test guest as root (or open a shell when no command is given).
#
#   vm/ssh.sh NAME [CMD...]
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

[[ $# -ge 1 ]] || { echo "usage: $0 NAME [CMD...]" >&2; exit 2; }
name=$1; shift
dir=$(guest_dir "${name}")
[[ -f "${dir}/port" ]] || die "no guest '${name}' (start it with vm/up.sh)"
tty=()
[[ $# -eq 0 && -t 0 ]] && tty=(-t)
exec ssh "${SSH_OPTS[@]}" "${tty[@]}" -i "$(ssh_key)" -p "$(<"${dir}/port")" root@127.0.0.1 "$@"
