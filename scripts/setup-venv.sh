#!/usr/bin/env bash
# Create (or refresh) the project virtualenv in .venv with the pinned toolchain, and make the
# collection importable as ansible_collections.policygroups.core from .cache/collections.
#
# Idempotent: nothing is installed when the requirements files are unchanged (their hash is stamped into
# .venv/.requirements.sha256); a change is installed in place; only another interpreter recreates the venv.
#
# Interpreter choice: $PYTHON if set; else the existing venv's if it works; else the first that runs and is
# >= 3.12 of python3.13, python3.12 on PATH, $(pyenv root)/versions/3.1[23]*/bin/python.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
venv="$repo/.venv"
stamp="$venv/.requirements.sha256"

log() { printf 'setup-venv: %s\n' "$*"; }

usable() {
    # A candidate is usable if it actually runs (pyenv shims may exist but fail) and is >= 3.12.
    "$1" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local c
    local candidates=()
    if [[ -n "${PYTHON:-}" ]]; then
        if usable "$PYTHON"; then echo "$PYTHON"; return 0; fi
        log "PYTHON=$PYTHON is not a usable Python >= 3.12" >&2
        return 1
    fi
    for c in python3.13 python3.12; do
        command -v "$c" >/dev/null 2>&1 && candidates+=("$(command -v "$c")")
    done
    if command -v pyenv >/dev/null 2>&1; then
        local root
        root=$(pyenv root)
        for c in "$root"/versions/3.13*/bin/python "$root"/versions/3.12*/bin/python; do
            [[ -x "$c" ]] && candidates+=("$c")
        done
    fi
    for c in "${candidates[@]}"; do
        if usable "$c"; then echo "$c"; return 0; fi
    done
    log "no Python >= 3.12 found (set PYTHON=/path/to/python3.12+)" >&2
    return 1
}

have_python=""
if [[ -x "$venv/bin/python" ]] && usable "$venv/bin/python"; then
    have_python=$("$venv/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
fi
if [[ -z "${PYTHON:-}" && -n "$have_python" ]]; then
    # Keep the interpreter of a working venv unless PYTHON asks for another one.
    python="$venv/bin/python"
else
    python=$(find_python)
fi
pyver=$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)

pipq() {
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$@" \
        2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

if [[ "$have_python" == "$pyver" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    log "venv up to date ($venv, Python $pyver)"
else
    if [[ "$have_python" != "$pyver" ]]; then
        # Only a different interpreter needs a new venv; a requirements change is installed in place, so
        # a shell or test run using the venv meanwhile keeps working.
        [[ -d "$venv" ]] && log "interpreter changed (${have_python:-none} -> $pyver): recreating $venv"
        rm -rf "$venv"
        log "creating $venv with $python (Python $pyver)"
        "$python" -m venv "$venv"
        pipq --upgrade pip
    else
        log "requirements changed: updating $venv in place"
    fi
    log "installing pinned requirements (requirements-dev.txt)"
    pipq -r requirements-dev.txt
    echo "$want" >"$stamp"
    log "installed: $("$venv/bin/python" -m pip list --disable-pip-version-check --format=freeze 2>/dev/null \
        | grep -Ei '^(ansible-core|ansible-lint|jsonschema|molecule|mypy|pytest|hypothesis)==' | tr '\n' ' ')"
fi

# The collection, in place: ANSIBLE_COLLECTIONS_PATH=.cache/collections finds policygroups.core.
coll_parent="$repo/.cache/collections/ansible_collections/policygroups"
link="$coll_parent/core"
mkdir -p "$coll_parent"
if [[ -L "$link" && "$(readlink "$link")" == "$repo" ]]; then
    log "collection link present: .cache/collections/ansible_collections/policygroups/core -> repo root"
else
    rm -rf "$link"
    ln -s "$repo" "$link"
    log "linked .cache/collections/ansible_collections/policygroups/core -> repo root"
fi
log "use: . .venv/bin/activate && export ANSIBLE_COLLECTIONS_PATH=$repo/.cache/collections"
