#!/usr/bin/env bash
# Run the Molecule scenarios that boot QEMU guests: `policyfs` (reference kernel) and `stock` (Debian's kernel).
#
#   scripts/test-vm.sh [SCENARIO...]        default: stock policyfs
#
# Builds or reuses (from .cache/) the venv, the reference kernel and the guest image, runs
# `molecule test -s SCENARIO` for each scenario (collection mode, extensions/molecule/), and prints the time
# of every stage and of every Molecule step (the time-stamped output is kept in
# .cache/test-vm/molecule-SCENARIO.log). Runs every scenario even when one fails; exits non-zero if any
# stage failed.
# No QEMU process started for these scenarios outlives the script (trap: vm/down.sh on their guests).
# POLICY_KERNEL_DIR=DIR uses an existing kernel/build.sh result instead of building.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"

scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(stock policyfs)

timings=()
failed=()
t_all=${SECONDS}

stage() {  # stage NAME COMMAND...: run, time and record one stage
    local name=$1 t0=${SECONDS} rc=0
    shift
    printf '\n=== test-vm: %s (%s)\n' "${name}" "$(date -u +%H:%M:%S)"
    "$@" || rc=$?
    local dt=$((SECONDS - t0))
    timings+=("$(printf '%-22s %5d s  %s' "${name}" "${dt}" "$([[ ${rc} -eq 0 ]] && echo ok || echo "FAILED (${rc})")")")
    [[ ${rc} -eq 0 ]] || failed+=("${name}")
    return "${rc}"
}

scenario_guests() {  # scenario_guests S: its guests' names, as shared/create.yml names them
    local s=$1
    if [[ -x .venv/bin/python ]]; then
        .venv/bin/python - "extensions/molecule/${s}/molecule.yml" "${s}" <<'PY'
import sys
import yaml
with open(sys.argv[1], encoding="utf-8") as handle:
    platforms = (yaml.safe_load(handle) or {}).get("platforms") or []
for platform in platforms:
    print(platform.get("guest") or f"{sys.argv[2]}-{platform['name']}")
PY
    fi
}

stop_guests() {  # every guest of these scenarios that is still running
    local s g
    for s in "${scenarios[@]}"; do
        for g in $(scenario_guests "${s}"); do
            if [[ -d ".cache/vm/guests/${g}" ]]; then vm/down.sh "${g}" || true; fi
        done
    done
}

# failure_excerpt LOG: the lines that say why a scenario failed (Ansible's fatal/failed results and the lines
# right after them, cut to a readable width), so the end of a long run's output names the cause. Scenarios
# assert expected refusals (ignored failures) before the one that stopped them, so the last results are shown.
failure_excerpt() {
    grep -E -A 12 '(fatal|failed): \[' "$1" | grep -v -E '^[0-9:]+ *$' | cut -c1-600 | tail -n 40
}

report() {
    stop_guests
    local s
    for s in "${scenarios[@]}"; do
        if [[ " ${failed[*]} " == *" ${s} "* && -f .cache/test-vm/molecule-${s}.log ]]; then
            printf '\n=== test-vm: why molecule %s failed (from .cache/test-vm/molecule-%s.log)\n' "${s}" "${s}"
            failure_excerpt ".cache/test-vm/molecule-${s}.log" || true
        fi
    done
    printf '\n=== test-vm: stage times\n'
    printf '  %s\n' "${timings[@]}"
    printf '  %-22s %5d s\n' total "$((SECONDS - t_all))"
    if [[ ${#failed[@]} -gt 0 ]]; then
        printf 'test-vm: FAILED: %s\n' "${failed[*]}"
    else
        printf 'test-vm: all scenarios passed\n'
    fi
}
trap report EXIT
trap 'exit 130' INT TERM

stage setup scripts/setup-venv.sh
# shellcheck source=/dev/null
source .venv/bin/activate
export ANSIBLE_COLLECTIONS_PATH="${repo}/.cache/collections"
export MOLECULE_REPORT=${MOLECULE_REPORT:-false}
export PY_COLORS=0 ANSIBLE_FORCE_COLOR=0

kernel_log=.cache/test-vm-kernel.log
build_kernel() {
    mkdir -p .cache
    kernel/build.sh | tee "${kernel_log}"
    POLICY_KERNEL_DIR=$(tail -n1 "${kernel_log}")
    [[ -f "${POLICY_KERNEL_DIR}/bzImage" ]] || { echo "kernel/build.sh printed no build directory" >&2; return 1; }
    export POLICY_KERNEL_DIR
}
if [[ " ${scenarios[*]} " == *" policyfs "* ]]; then
    if [[ -n "${POLICY_KERNEL_DIR:-}" ]]; then
        echo "test-vm: using the reference kernel in ${POLICY_KERNEL_DIR}"
    else
        stage kernel build_kernel || exit 1
    fi
fi
stage image vm/image.sh || exit 1

stamp() {  # prefix every line with the time of day
    local line
    while IFS= read -r line; do printf '%(%H:%M:%S)T %s\n' -1 "${line}"; done
}

# molecule_steps LOG SCENARIO: the wall time of each Molecule step, from the time stamps of its
# "[S > step] Executing" and "Executed: ..." lines (a step that ends past midnight is counted right). A step that
# started and never said "Executed" is the one that failed (Molecule then runs cleanup and destroy): it is listed
# as such, up to the next step's start or the log's end.
molecule_steps() {
    awk -v s="$2" '
        function secs(t,   a) { split(t, a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
        function name(line) { sub(/^.*\[[^>]*> /, "", line); sub(/\].*$/, "", line); return line }
        function row(t, result,   d) {
            d = t - start; if (d < 0) d += 86400
            printf "%s: %-16s %5d s  %s\n", s, step, d, result; start = ""
        }
        { last = $1 }
        index($0, "[" s " > ") && / Executing$/ {
            if (start != "") row(secs($1), "FAILED (no result)")
            start = secs($1); step = name($0); next
        }
        index($0, "[" s " > ") && / Executed: / && start != "" { r = $0; sub(/^.*Executed: /, "", r); row(secs($1), r) }
        END { if (start != "" && last ~ /^[0-9]+:[0-9]+:[0-9]+$/) row(secs(last), "FAILED (no result)") }' "$1"
}

molecule_test() {  # molecule_test SCENARIO LOG: the whole sequence, output time-stamped into LOG too
    molecule test -s "$1" 2>&1 | stamp | tee "$2"
}

mkdir -p .cache/test-vm
for s in "${scenarios[@]}"; do
    log=.cache/test-vm/molecule-${s}.log
    stage "molecule ${s}" molecule_test "${s}" "${log}" || true
    while IFS= read -r line; do timings+=("  ${line}"); done < <(molecule_steps "${log}" "${s}")
    stop_guests
done
[[ ${#failed[@]} -eq 0 ]]
