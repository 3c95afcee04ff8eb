#!/usr/bin/env bash
# The fleet layer against real guests: the example fleet (web1, db1, worker1) booted with the reference kernel,
# operated by scripts/demo.sh (check-mode preview, rollout, second rollout, tamper, drift audit, converge, audit,
# reboot, audit), then every artifact of that run checked in detail by tests/fleet/ (pytest):
#
#   * the preview changed nothing on the fresh guests and planned the whole policy for each of them;
#   * rollout batches: the canary alone (web1), then the waves one host at a time (db1, worker1), in that order;
#   * the second rollout reports changed=0 on every host;
#   * the audit after the tamper exits 2 and reports exactly the tampered findings, no more, in drift.json,
#     drift.md and drift.xml (each parsed on its own), runtime and persisted drift told apart;
#   * the audit after the converge exits 0 with every host in sync, in all three formats;
#   * after the reboot the restore ran before the bound services, sshd and journald are in their groups, and
#     the audit exits 0;
#   * the runs kept each host's facts in a persistent fact cache, as a fleet should.
#
#   scripts/test-fleet.sh            (POLICY_KERNEL_DIR=DIR reuses a kernel/build.sh result)
#
# The guests are stopped at the end whatever happens (scripts/demo.sh cleans up on exit and on Ctrl-C).
# Exit status: 0 when every check passed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
export DEMO_DIR="${repo}/.cache/test-fleet"
t0=${SECONDS}

demo_rc=0
scripts/demo.sh || demo_rc=$?
rc=${demo_rc}
echo
echo "=== test-fleet: checking the artifacts in ${DEMO_DIR}"
# The artifacts are checked even when the demo stopped early: the first failing check says where it went wrong.
mkdir -p "${DEMO_DIR}"   # the demo may have stopped before it made it
.venv/bin/python -m pytest -q -p no:cacheprovider tests/fleet --fleet-dir "${DEMO_DIR}" 2>&1 \
    | tee "${DEMO_DIR}/pytest.log" || rc=$((rc == 0 ? 1 : rc))
if [[ ${rc} -ne 0 ]]; then
    # CI keeps the tail of the output: the checks that failed, then why the demo stopped (with the console of a
    # guest that did not come back from its reboot).
    echo "=== test-fleet: why it failed"
    grep -E '^FAILED ' "${DEMO_DIR}/pytest.log" | cut -c1-200 || true
    if [[ ${demo_rc} -ne 0 ]]; then
        cat "${DEMO_DIR}/failure" 2>/dev/null || echo "scripts/demo.sh exited ${demo_rc} without saying why"
    fi
fi
echo "=== test-fleet: $([[ ${rc} -eq 0 ]] && echo passed || echo "FAILED (${rc})") in $((SECONDS - t0)) s"
exit "${rc}"
