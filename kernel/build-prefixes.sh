#!/usr/bin/env bash
# Build each prefix of the series on its own, as a series posted for review must: patch 1 alone, patches 1-2, ...,
# the whole series. Each prefix goes through kernel/build.sh --patches (apply, checkpatch --strict, configuration
# check, bzImage, and the selftest where the prefix has it), cached like any build.
#
# Usage: kernel/build-prefixes.sh [FIRST [LAST]]   (default: 1 to the number of patches)
#
# Prints one line per prefix (result, seconds, result directory) as each finishes, then a summary; exits 1 when
# any prefix failed (its build log is named in its own output, kept in .cache/kernel/prefixes/N.log).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
mapfile -t series < <("$here/build.sh" --list-patches)
first=${1:-1}
last=${2:-${#series[@]}}
if ! [[ $first =~ ^[0-9]+$ && $last =~ ^[0-9]+$ ]] || ((first < 1 || first > last || last > ${#series[@]})); then
    echo "kernel/build-prefixes.sh: FIRST and LAST between 1 and ${#series[@]}, FIRST <= LAST" >&2
    exit 2
fi

logs=$repo/.cache/kernel/prefixes
mkdir -p "$logs"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
t_all=$SECONDS
for ((n = first; n <= last; n++)); do
    rm -rf "${work:?}/$n"
    mkdir "$work/$n"
    for p in "${series[@]:0:n}"; do cp "$here/patches/$p" "$work/$n/"; done
    t0=$SECONDS
    if "$here/build.sh" --patches "$work/$n" >"$logs/$n.log" 2>&1; then
        result=ok
    else
        result=FAILED
        failed+=("$n")
    fi
    printf 'prefix %2d/%d (%s): %s in %d s, %s\n' "$n" "${#series[@]}" "${series[n - 1]%.patch}" "$result" \
        "$((SECONDS - t0))" "$(tail -n1 "$logs/$n.log")"
done
printf 'prefixes %d-%d: %d built, %d failed%s, %d min %02d s\n' "$first" "$last" "$((last - first + 1 - ${#failed[@]}))" \
    "${#failed[@]}" "${failed[*]:+ (${failed[*]})}" $(((SECONDS - t_all) / 60)) $(((SECONDS - t_all) % 60))
((${#failed[@]} == 0))
