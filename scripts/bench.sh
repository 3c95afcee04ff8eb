#!/usr/bin/env bash
# Run every benchmark in bench/ (numbers and ratios, not pass/fail). See bench/README.md.
#
#   scripts/bench.sh [collection|role|swapout|swapout_insns|mem_priority|guests]...     default: all six
#
# collection: one policy_groups call vs plain ansible.builtin tasks (200 groups x 5 policies)
# role:       task runs per host (role, rollout), no-op role run vs Ansible's floor, drift audit cost per
#             host (16, 64, 256 hosts) with a plot, engine check mode for 10,000 groups, render.yml for 1,000 hosts
# swapout:    swap-out throughput in QEMU guests, reference kernel vs the unpatched build
# swapout_insns: the same with the guest instructions per page swapped out counted (run.sh --insns), then
#             where they go per kernel function for a task outside the groups and one in a group (profile.sh)
# mem_priority: a service and a batch job under global memory pressure in guests, without and with
#             policy.mem_priority (resident memory, swap, major faults, latency; report and plots)
# guests:     a test guest's start to SSH, cold boot vs the saved booted state
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
scripts/setup-venv.sh >/dev/null
export ANSIBLE_COLLECTIONS_PATH="${repo}/.cache/collections"
py=.venv/bin/python

which=("$@")
[[ ${#which[@]} -gt 0 ]] || which=(collection role swapout swapout_insns mem_priority guests)
for b in "${which[@]}"; do
    printf '\n=== bench: %s (%s)\n' "${b}" "$(date -u +%H:%M:%S)"
    case "${b}" in
        collection) "${py}" bench/bench_policy_groups.py --builtin-groups 25 ;;
        role) "${py}" bench/bench_role.py ;;
        swapout) bench/swapout/run.sh ;;
        swapout_insns) bench/swapout/run.sh --insns 128 4 3 && bench/swapout/profile.sh outside \
            && bench/swapout/profile.sh inside ;;
        mem_priority) bench/mem_priority/run.sh ;;
        guests) bench/guest_start.sh ;;
        *) echo "bench: unknown benchmark '${b}' (collection, role, swapout, swapout_insns, mem_priority, guests)" >&2; exit 2 ;;
    esac
done
