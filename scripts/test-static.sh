#!/usr/bin/env bash
# Static test suite: unit tests, ansible-test sanity, ansible-lint (production profile), antsibull-changelog
# lint, ansible-doc for every module, and a build + install round trip of the collection tarball.
#
# Every stage runs (a failing stage does not hide the next one), prints its wall time, and the script exits
# non-zero if any stage failed. A stage that has nothing to check fails: nothing is skipped silently.
#
# Usage: scripts/test-static.sh [stage ...]    stages: units sanity lint changelog docs build
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
"$repo/scripts/setup-venv.sh" >/dev/null || { echo "test-static: scripts/setup-venv.sh failed" >&2; exit 1; }

venv="$repo/.venv"
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/.cache/collections"
export ANSIBLE_HOME="$repo/.cache/ansible-home"
export ANSIBLE_LOCAL_TEMP="$repo/.cache/ansible-home/tmp"
export PYTHONDONTWRITEBYTECODE=1
pyver=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

all_stages=(units sanity lint changelog docs build)
stages=("$@")
[[ ${#stages[@]} -eq 0 ]] && stages=("${all_stages[@]}")

failed=()
summary=()

# Files of the collection as git sees them (tracked, plus new files not ignored), that exist on disk.
collection_files() {
    git -C "$repo" ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [[ -e "$f" || -L "$f" ]] && printf '%s\0' "$f"; done
}

stage_units() {
    local rc=0
    python -m pytest -q -n 2 tests/unit || rc=$?
    if [[ $rc -eq 5 ]]; then
        echo "units: pytest collected no tests under tests/unit: that is a failure, not a pass" >&2
    fi
    return $rc
}

stage_sanity() {
    # ansible-test needs the collection at .../ansible_collections/<ns>/<name>; use a fresh copy so that
    # build outputs and caches in the work tree are not scanned.
    local dest="$repo/.cache/sanity/ansible_collections/policygroups/core"
    rm -rf "$dest"
    mkdir -p "$dest"
    collection_files | (cd "$repo" && xargs -0 cp --parents -P -t "$dest")
    # ansible-test creates one venv per sanity test (pinned by ansible-test itself), under $HOME.
    (cd "$dest" && HOME="$repo/.cache/ansible-test-home" \
        ansible-test sanity --venv --requirements --python "$pyver" --color no)
}

stage_lint() {
    local targets=()
    local d
    for d in roles playbooks examples extensions; do
        if [[ -n "$(find "$d" -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | head -1)" ]]; then
            targets+=("$d")
        else
            echo "lint: $d/ has no YAML yet" >&2
        fi
    done
    if [[ ${#targets[@]} -eq 0 ]]; then
        echo "lint: nothing to lint in roles/ playbooks/ examples/ extensions/" >&2
        return 1
    fi
    # Collection metadata (galaxy.yml, meta/, changelogs/) is linted too: ansible-lint reads it from the root.
    ansible-lint --profile production --offline "${targets[@]}" galaxy.yml meta/runtime.yml
}

stage_changelog() {
    antsibull-changelog lint
}

stage_docs() {
    local modules=()
    local f name rc=0
    for f in plugins/modules/*.py; do
        [[ -e "$f" ]] || continue
        name=$(basename "$f" .py)
        modules+=("policygroups.core.$name")
    done
    if [[ ${#modules[@]} -eq 0 ]]; then
        echo "docs: no modules in plugins/modules" >&2
        return 1
    fi
    for name in "${modules[@]}"; do
        local out
        if out=$(ansible-doc -t module "$name" 2>&1) && [[ -n "$out" ]] && ! grep -q '\[WARNING\]\|ERROR' <<<"$out"; then
            echo "docs: $name renders ($(wc -l <<<"$out") lines)"
        else
            echo "docs: $name does NOT render:" >&2
            echo "$out" | tail -20 >&2
            rc=1
        fi
    done
    return $rc
}

stage_build() {
    local out="$repo/.cache/build"
    rm -rf "$out"
    mkdir -p "$out/dist" "$out/installed"
    ansible-galaxy collection build --output-path "$out/dist" "$repo" || return 1
    local tarball
    tarball=$(ls "$out"/dist/policygroups-core-*.tar.gz) || return 1
    echo "build: $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB, $(tar -tzf "$tarball" | wc -l) entries)"
    if tar -tzf "$tarball" | grep -E '(^|/)(\.cache|\.venv|\.git|tests/output|__pycache__)(/|$)'; then
        echo "build: the tarball contains files build_ignore should exclude (listed above)" >&2
        return 1
    fi
    ansible-galaxy collection install --offline -p "$out/installed" "$tarball" || return 1
    ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-galaxy collection list policygroups.core -p "$out/installed" \
        | grep -q 'policygroups.core' || { echo "build: installed collection not listed" >&2; return 1; }
    echo "build: installed into .cache/build/installed and listed by ansible-galaxy"
}

for s in "${stages[@]}"; do
    if ! declare -F "stage_$s" >/dev/null; then
        echo "test-static: unknown stage '$s' (known: ${all_stages[*]})" >&2
        exit 2
    fi
    echo "=== test-static: $s"
    t0=$(date +%s)
    rc=0
    "stage_$s" || rc=$?
    dt=$(( $(date +%s) - t0 ))
    if [[ $rc -eq 0 ]]; then
        summary+=("$s: ok (${dt}s)")
    else
        summary+=("$s: FAILED rc=$rc (${dt}s)")
        failed+=("$s")
    fi
    echo "=== test-static: $s finished rc=$rc in ${dt}s"
done

echo "=== test-static summary"
printf '  %s\n' "${summary[@]}"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "test-static: FAILED stages: ${failed[*]}"
    exit 1
fi
echo "test-static: all ${#stages[@]} stages passed"
