#!/usr/bin/env bash
# Static test suite: unit tests, mypy --strict, ansible-test sanity (every ansible-core the collection claims) and
# integration (controller-side targets), ansible-lint (production profile), antsibull-changelog lint and CHANGELOG.rst,
# ansible-doc for every module and antsibull-docs lint-collection-docs, and a build + install round trip of the
# collection tarball (its file list checked).
#
# Every stage runs (a failing stage does not hide the next one), prints its wall time, and the script exits
# non-zero if any stage failed. A stage that has nothing to check fails: nothing is skipped silently.
#
# Usage: scripts/test-static.sh [stage ...]    stages: units types sanity integration lint changelog docs build home
set -uo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo" || exit 1
"$repo/scripts/setup-venv.sh" >/dev/null || { echo "test-static: scripts/setup-venv.sh failed" >&2; exit 1; }

venv="$repo/.venv"
export PATH="$venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/.cache/collections"
export ANSIBLE_HOME="$repo/.cache/ansible-home"
export ANSIBLE_LOCAL_TEMP="$repo/.cache/ansible-home/tmp"
export PYTHONDONTWRITEBYTECODE=1
pyver=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')

all_stages=(units types sanity integration lint changelog docs build home)
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

stage_types() {
    # mypy --strict (.mypy.ini) over every plugin package, resolved through the collections path; then the
    # experiment tools (scripts/experiment.py, experiments/), which import the collection the same way, and the
    # scripts of the tests and CI written in Python.
    (cd "$repo/.cache/collections" && mypy --config-file "$repo/.mypy.ini" --cache-dir "$repo/.cache/mypy" \
        -p ansible_collections.policygroups.core.plugins) || return 1
    (cd "$repo" && MYPYPATH="$repo/.cache/collections:$repo/experiments" mypy --config-file "$repo/.mypy.ini" \
        --cache-dir "$repo/.cache/mypy" scripts/experiment.py experiments/report.py experiments/sampler.py \
        scripts/ansible-test-get-pip.py .ci/speed.py)
}

# shellcheck source=scripts/lib/apt.sh
source "$repo/scripts/lib/apt.sh"

# The oldest ansible-core meta/runtime.yml claims (requires_ansible): sanity runs on it too, besides the
# release requirements-dev.txt pins for development.
oldest_core="ansible-core==2.20.10"

# A venv of its own for ansible-test of one ansible-core release (pin "ansible-core==X.Y.Z"); prints its path.
# ansible-test's --venv mode downloads a pip bootstrap from a host outside the package index, so ansible-test
# runs --local in this venv: --requirements installs its pinned sanity tools there, leaving the project venv as
# pinned. Its per-test venvs are bootstrapped by a pip script fetched from a host that is not a package index:
# a local equivalent is provided under the name ansible-test looks for (see scripts/ansible-test-get-pip.py).
ansible_test_venv() {
    local pin=$1 svenv="$repo/.cache/sanity-venv-${1#ansible-core==}"
    if [[ ! -x "$svenv/bin/ansible-test" ]]; then
        "$venv/bin/python" -m venv "$svenv" >&2 || return 1
        "$svenv/bin/python" -m pip install --quiet --disable-pip-version-check "$pin" >&2 || return 1
    fi
    local pipver
    pipver=$("$svenv/bin/python" - <<'PY'
import re, ansible_test._internal.python_requirements as r
print(re.search(r"pip='([0-9.]+)'", open(r.__file__).read()).group(1))
PY
) || return 1
    local cache="$repo/.cache/ansible-test-home/.ansible/test/cache"
    mkdir -p "$cache"
    cp "$repo/scripts/ansible-test-get-pip.py" "$cache/get_pip_${pipver//./_}.py"
    # the wheel the stand-in runs pip from (without it, it falls back to ensurepip: slower, same result); put in
    # place only once downloaded whole and readable, so that a broken download is not used by every later run
    local wheel="pip-${pipver}-py3-none-any.whl" tmp
    if [[ ! -f "$cache/$wheel" ]]; then
        tmp=$(mktemp -d "$cache/.pip-wheel.XXXXXX")
        if "$svenv/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary :all: \
                --dest "$tmp" "pip==${pipver}" >&2 && "$svenv/bin/python" -m zipfile -t "$tmp/$wheel" >/dev/null; then
            mv "$tmp/$wheel" "$cache/$wheel"
        else
            echo "sanity: no pip ${pipver} wheel: bootstrapping with ensurepip" >&2
        fi
        rm -rf "$tmp"
    fi
    echo "$svenv"
}

# A fresh copy of the collection at .../ansible_collections/<ns>/<name>, where ansible-test needs it, so that
# build outputs and caches in the work tree are not scanned; prints its path.
ansible_test_copy() {
    local dest="$repo/.cache/$1/ansible_collections/policygroups/core"
    rm -rf "$dest"
    mkdir -p "$dest"
    collection_files | (cd "$repo" && xargs -0 cp --parents -P -t "$dest")
    # ansible-test lists files with git when it finds a repository; the copy sits in this repository's
    # ignored .cache/, so give it a repository of its own or every file would count as ignored.
    git -C "$dest" init -q && git -C "$dest" add -A
    echo "$dest"
}

stage_sanity() {
    # ansible-test's shellcheck test is skipped, not failed, without the tool: make sure it runs.
    ensure_debs shellcheck || return 1
    local dest log="$repo/.cache/sanity.log" rc=0 pin svenv
    dest=$(ansible_test_copy sanity) || return 1
    : >"$log"
    # Every ansible-core the collection claims, each with an empty ignore file (tests/sanity/ignore-X.Y.txt).
    for pin in "$(grep -E '^ansible-core==' "$repo/requirements-dev.txt")" "$oldest_core"; do
        svenv=$(ansible_test_venv "$pin") || return 1
        echo "sanity: $pin"
        (cd "$dest" && HOME="$repo/.cache/ansible-test-home" PATH="$svenv/bin:$PATH" \
            "$svenv/bin/ansible-test" sanity --local --requirements --python "$pyver" --color no) 2>&1 \
            | tee -a "$log" || rc=$?  # pipefail: the status of ansible-test, not tee
    done
    if grep -q "All targets skipped" "$log"; then
        echo "sanity: ansible-test skipped every target: nothing was checked" >&2
        return 1
    fi
    local ignore
    for ignore in tests/sanity/ignore-*.txt; do
        if grep -q . "$ignore"; then
            echo "sanity: $ignore is not empty: fix the findings instead of ignoring them" >&2
            rc=1
        fi
    done
    svenv=$(ansible_test_venv "$(grep -E '^ansible-core==' "$repo/requirements-dev.txt")") || return 1

    # Modules and module_utils run on managed hosts (tests/config.yml: python_requires >= 3.9): compile and
    # import them with every older Python this machine has (Debian 12 hosts run 3.11).
    local targets=() extra_path="" entry
    while IFS= read -r entry; do
        targets+=(--target-python "$entry")
        extra_path="$extra_path:$(dirname "${entry#*@}")"
    done < <(target_pythons)
    if [[ ${#targets[@]} -eq 0 ]]; then
        echo "sanity: no Python 3.9-3.12 found to check the modules' target-side compatibility" >&2
        return 1
    fi
    echo "sanity: target Pythons: ${targets[*]}"
    (cd "$dest" && HOME="$repo/.cache/ansible-test-home" PATH="$svenv/bin${extra_path}:$PATH" \
        "$svenv/bin/ansible-test" sanity --test compile --test import --requirements --color no \
        --controller "origin:python=$pyver" "${targets[@]}") 2>&1 | tee -a "$log" || rc=$?
    return "$rc"
}

stage_integration() {
    # ansible-test integration targets of the controller-side content (tests/integration/targets: validate,
    # render, the drift report, the info module's unavailable path), run on this machine as the controller.
    local dest svenv
    dest=$(ansible_test_copy integration) || return 1
    svenv=$(ansible_test_venv "$(grep -E '^ansible-core==' "$repo/requirements-dev.txt")") || return 1
    (cd "$dest" && HOME="$repo/.cache/ansible-test-home" PATH="$svenv/bin:$PATH" \
        "$svenv/bin/ansible-test" integration --local --requirements --python "$pyver" --color no)
}

# "X.Y@/path/to/python" for each working Python 3.9..3.12 (on PATH first, then pyenv's versions).
target_pythons() {
    local minor cand found
    for minor in 9 10 11 12; do
        found=""
        for cand in "$(command -v "python3.$minor" 2>/dev/null)" \
                $(command -v pyenv >/dev/null 2>&1 && ls -d "$(pyenv root)"/versions/3."$minor".*/bin/python 2>/dev/null); do
            [[ -n "$cand" ]] || continue
            # sys.executable: the real interpreter, not a pyenv shim (shims fail for non-global versions).
            if found=$("$cand" -c "import sys; assert sys.version_info[:2] == (3, $minor); print(sys.executable)" \
                    2>/dev/null) && [[ -n "$found" ]]; then
                break
            fi
            found=""
        done
        [[ -n "$found" ]] && echo "3.$minor@$found"
    done
    return 0
}

stage_lint() {
    local d empty=0
    for d in roles playbooks examples extensions; do
        if [[ -z "$(find "$d" -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null | head -1)" ]]; then
            echo "lint: $d/ has no YAML to lint" >&2
            empty=1
        fi
    done
    [[ $empty -eq 0 ]] || return 1
    # The whole collection (roles, playbooks, examples, extensions, galaxy.yml, meta/, changelogs/, ...);
    # exclusions and the profile are in .ansible-lint.
    ansible-lint --profile production --offline --nocolor
}

stage_changelog() {
    antsibull-changelog lint || return 1
    # CHANGELOG.rst is generated from changelogs/changelog.yaml: regenerate it in a copy and compare.
    local tmp rc=0
    tmp=$(mktemp -d)
    cp -r "$repo/changelogs" "$repo/galaxy.yml" "$repo/CHANGELOG.rst" "$tmp/"
    (cd "$tmp" && antsibull-changelog generate) || rc=1
    if [[ $rc -eq 0 ]] && ! diff -u "$repo/CHANGELOG.rst" "$tmp/CHANGELOG.rst"; then
        echo "changelog: CHANGELOG.rst is not what changelogs/changelog.yaml generates (run antsibull-changelog generate)" >&2
        rc=1
    fi
    rm -rf "$tmp"
    return $rc
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
    # The collection's docs as a docs site builds them: module and plugin docs, links.yml, extra-docs.yml.
    antsibull-docs lint-collection-docs --plugin-docs "$repo" || rc=1
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
    local listing
    listing=$(tar -tzf "$tarball")
    # No development files: only the collection's own top-level entries, no hidden files or caches anywhere,
    # none of the tests that need the development toolchain, no build or VM tooling (galaxy.yml: build_ignore).
    local unexpected
    unexpected=$(grep -vE '^(MANIFEST\.json|FILES\.json|README\.md|LICENSE|CHANGELOG\.rst|requirements\.txt|(LICENSES|changelogs|docs|examples|kernel|meta|playbooks|plugins|roles|schemas|tests)(/.*)?)$' <<<"$listing")
    unexpected+=$'\n'$(grep -E '(^|/)(\.[^/]+|__pycache__|[^/]*\.pyc|tests/(unit|fleet|output|__init__\.py)|kernel/build\.sh)(/|$)' <<<"$listing")
    if grep -q . <<<"$unexpected"; then
        grep . <<<"$unexpected" >&2
        echo "build: the tarball contains development files build_ignore should exclude (listed above)" >&2
        return 1
    fi
    local f
    for f in MANIFEST.json FILES.json LICENSE README.md meta/runtime.yml schemas/policy_groups.schema.json \
            docs/fleet-document.md plugins/action/validate.py CHANGELOG.rst LICENSES/GPL-2.0-only.txt \
            meta/execution-environment.yml requirements.txt changelogs/changelog.yaml $(cd "$repo" && ls plugins/modules/*.py); do
        grep -qxF "$f" <<<"$listing" || { echo "build: the tarball lacks $f" >&2; return 1; }
    done
    # Install from the tarball alone: the in-tree link must not satisfy the request.
    ANSIBLE_COLLECTIONS_PATH="$out/installed" \
        ansible-galaxy collection install --offline --force -p "$out/installed" "$tarball" || return 1
    local installed="$out/installed/ansible_collections/policygroups/core"
    [[ -f "$installed/MANIFEST.json" && -f "$installed/schemas/policy_groups.schema.json" ]] \
        || { echo "build: installed collection lacks MANIFEST.json or the schema" >&2; return 1; }
    # The installed copy works on its own: its validate action finds its schema.
    ANSIBLE_COLLECTIONS_PATH="$out/installed" ANSIBLE_LOCALHOST_WARNING=false ansible localhost -m policygroups.core.validate \
        -a '{"policy_groups": [{"name": "latency", "thp": "never"}]}' || return 1
    # The drift audit works from the installed copy: drift.sh is executable beside drift.yml, and the playbook
    # can be run by its name without a path.
    [[ -x "$installed/playbooks/drift.sh" && -f "$installed/playbooks/drift.yml" ]] \
        || { echo "build: installed playbooks/drift.sh is not executable beside drift.yml" >&2; return 1; }
    ANSIBLE_COLLECTIONS_PATH="$out/installed" ansible-playbook --syntax-check -i localhost, policygroups.core.drift \
        >/dev/null || { echo "build: ansible-playbook policygroups.core.drift does not load from the installed copy" >&2; return 1; }
    echo "build: installed into .cache/build/installed; its validate action ran from the installed copy;"
    echo "build: its drift.sh is executable and policygroups.core.drift loads by name"
}

stage_home() {
    # Tests install only inside .cache/: Molecule's prerun used to build and install the collection into
    # ~/.ansible/collections, where it shadowed the user's own installs. Run what Molecule does before any guest
    # (prerun and a syntax check of every scenario) with a scratch HOME and no ANSIBLE_HOME, then require that
    # HOME holds no collection and no role.
    local home rc=0 s
    home=$(mktemp -d "${TMPDIR:-/tmp}/policygroups-home.XXXXXX")
    for s in $(find "$repo/extensions/molecule" -mindepth 2 -maxdepth 2 -name molecule.yml -printf '%h\n' \
            | xargs -n1 basename | sort); do
        env -u ANSIBLE_HOME -u ANSIBLE_LOCAL_TEMP HOME="$home" molecule syntax -s "$s" >"$home.log" 2>&1 \
            || { cat "$home.log"; rc=1; }
    done
    local leaked
    leaked=$(find "$home" -path '*/ansible_collections/*' -o -path '*/.ansible/roles/*' | head -n 5)
    if [[ -n "$leaked" ]]; then
        echo "home: the tests installed into the user's home (only .cache/ is allowed):" >&2
        echo "$leaked" >&2
        rc=1
    else
        echo "home: molecule syntax of every scenario left no collection or role in HOME"
    fi
    rm -rf "$home" "$home.log"
    return $rc
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
