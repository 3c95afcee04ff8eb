#!/usr/bin/env bash
# Print the shortlog and diffstat of the series, as git format-patch --cover-letter puts them at the end of
# kernel/patches/0000-cover-letter.patch; paste them there when the series changes.
#
# Usage: kernel/series-stat.sh [--patches DIR] [--source DIR]
#
#   --patches DIR  the series (default kernel/patches/); the patches are those kernel/build.sh applies
#   --source DIR   the kernel source the series applies to (default: the pristine tree kernel/build.sh
#                  unpacked under .cache/kernel/)
#
# Only the files the series touches are copied from the source into a scratch git repository, so this takes
# a second and needs no kernel build.
set -euo pipefail

die() { printf 'kernel/series-stat.sh: error: %s\n' "$*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
patch_dir=$here/patches
source_dir=
while (($#)); do
    case $1 in
        --patches) shift; patch_dir=$(cd "${1:?--patches needs a directory}" && pwd) ;;
        --source) shift; source_dir=$(cd "${1:?--source needs a directory}" && pwd) ;;
        -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        *) die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done
if [[ -z $source_dir ]]; then
    for d in "$here"/../.cache/kernel/src-*/; do
        [[ $d == *-series/ || ! -f $d/.unpacked ]] || source_dir=${d%/}
    done
fi
[[ -n $source_dir && -d $source_dir ]] || die "no kernel source: run kernel/build.sh once, or pass --source DIR"

mapfile -t names < <("$here/build.sh" --patches "$patch_dir" --list-patches)
((${#names[@]})) || die "no patches in $patch_dir"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
git=(git -C "$scratch" -c user.name=series -c user.email=series@localhost)
git init -q "$scratch"
for name in "${names[@]}"; do
    git apply --numstat "$patch_dir/$name" | cut -f3-
done | sort -u | while IFS= read -r f; do
    if [[ -e $source_dir/$f ]]; then
        mkdir -p "$scratch/$(dirname "$f")"
        cp "$source_dir/$f" "$scratch/$f"
    fi
done
"${git[@]}" add -A
"${git[@]}" commit -q --allow-empty -m base
"${git[@]}" tag base
for name in "${names[@]}"; do
    "${git[@]}" am -q --keep-cr "$patch_dir/$name" || die "$name does not apply to $source_dir"
done
"${git[@]}" shortlog -w72,2,4 base..HEAD
"${git[@]}" diff --stat=72 --summary base HEAD
