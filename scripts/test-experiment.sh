#!/usr/bin/env bash
# The experiment loop as a smoke test (make test-experiment, part of make test): the shipped experiment
# (experiments/swap-tier.yml) in its quick mode, from validation to the report, in guests booting the reference
# kernel, then an interrupted run resumed. It checks that the loop works, not what the numbers say: each arm ran
# once with every sample and workload column, the report has every arm and metric, the plots and the CSV exist;
# a run whose samples are removed is the only one run again; a bad experiment file is refused before any guest
# starts, with its path named.
#
#   scripts/test-experiment.sh          (make test-experiment)
#
# Report and logs: .cache/test-experiment/ (the report directory is .cache/test-experiment/report/).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
work=.cache/test-experiment
out=${work}/report
TEST_NAME=test-experiment
TEST_WORK=${work}
# shellcheck source=scripts/lib/steps.sh
source scripts/lib/steps.sh
rm -rf "${work}"
mkdir -p "${work}"
steps_begin

experiment() { .venv/bin/python scripts/experiment.py experiments/swap-tier.yml --quick --out "${out}" "$@"; }

refuses_bad_input() {
    # A fleet document naming a tier it does not define, and a repetition count out of range: both named, by path.
    mkdir -p "${work}/bad/swap-tier"
    sed 's/tiers: \[slow\]/tiers: [slower]/' experiments/swap-tier/policy-groups.yml >"${work}/bad/swap-tier/policy-groups.yml"
    sed 's/^repetitions: 3$/repetitions: 0/' experiments/swap-tier.yml >"${work}/bad/swap-tier.yml"
    local rc=0
    .venv/bin/python scripts/experiment.py "${work}/bad/swap-tier.yml" --quick --out "${work}/bad-out" \
        >"${work}/bad.log" 2>&1 || rc=$?
    cat "${work}/bad.log"
    [[ ${rc} -eq 1 ]] || fail "a bad experiment file exited ${rc}, not 1"
    grep -q '^  repetitions: ' "${work}/bad.log" || fail "the bad repetition count is not named by its path"
    [[ ! -e "${work}/bad-out" ]] || fail "a refused experiment left a report directory"
    sed -i 's/^repetitions: 0$/repetitions: 3/' "${work}/bad/swap-tier.yml"
    rc=0
    .venv/bin/python scripts/experiment.py "${work}/bad/swap-tier.yml" --check >"${work}/bad.log" 2>&1 || rc=$?
    cat "${work}/bad.log"
    [[ ${rc} -eq 1 ]] || fail "a bad fleet document exited ${rc}, not 1"
    grep -q "arms\[2\]\.fleet (policy-groups.yml): policy_groups\[1\] (batch)\.swap\.tiers\[0\]" "${work}/bad.log" \
        || fail "the bad fleet document's error does not name arms[2].fleet ... swap.tiers[0]"
}

check_report() {  # check_report RUNS_EXPECTED_THIS_TIME
    local want=$1
    grep -q "^experiment: ${want} run(s) in " "${work}/run.log" || fail "expected ${want} run(s) in this invocation"
    .venv/bin/python - "${out}" <<'PY'
import csv, json, sys
from pathlib import Path

out = Path(sys.argv[1])
meta = json.loads((out / "run.json").read_text())
arms = [a["name"] for a in meta["experiment"]["arms"]]
workloads = [w["name"] for w in meta["experiment"]["workloads"]]
expect = meta["phases"]["warmup_s"] + meta["phases"]["pressure_s"]
for arm in arms:
    rows = list(csv.DictReader((out / "raw" / f"{arm}-1.csv").open()))
    assert len(rows) >= expect - 1, (arm, len(rows), expect)
    columns = set(rows[0])
    for w in workloads:
        for col in ("rss_mb", "swap_mb", "majflt", "oom_kill", "alive"):
            assert f"{w}_{col}" in columns, (arm, w, col)
    assert {"psi_some_avg10", "swap_zram0_mb", "swap_vdb_mb", "swapout_zram0_mb", "swapin_vdb_mb"} <= columns, columns
    print(f"    {arm}: {len(rows)} samples, {len(columns)} columns")
groups = [c for c in csv.DictReader((out / "raw" / "policy-groups-1.csv").open()).fieldnames if c.startswith("group_")]
assert {"group_foreground_covered_mb", "group_batch_covered_mb"} <= set(groups), groups
text = (out / "report.md").read_text()
for arm in arms:
    assert f"| {arm} |" in text, arm
for needle in ("## Results", "## What the numbers show", "## What they do not show", "service: p99 latency",
               "swapped in from zram0 under pressure", "![", "```yaml"):
    assert needle in text, needle
for plot in ("experiment.png", "experiment.svg"):
    assert (out / plot).stat().st_size > 20000, plot
samples = list(csv.DictReader((out / "samples.csv").open()))
assert {r["arm"] for r in samples} == set(arms), {r["arm"] for r in samples}
assert len(meta["runs"]) >= len(arms), meta["runs"]
print(f"    report: {len(text.splitlines())} lines; samples.csv: {len(samples)} rows; plots written")
PY
}

run_all() { experiment --fresh 2>&1 | tee "${work}/run.log"; }
resume() {
    # Lose one run's samples (as an interrupted run would never have written them): only that run is repeated.
    rm "${out}/raw/cgroups-1.csv"
    experiment 2>&1 | tee "${work}/run.log"
    grep -q "resuming, 2 of 3 runs already done" "${work}/run.log" || fail "the run did not resume"
}
refuses_mixing() {
    # Another setup (the full mode) must not mix its samples into these.
    local rc=0
    .venv/bin/python scripts/experiment.py experiments/swap-tier.yml --out "${out}" >"${work}/mix.log" 2>&1 || rc=$?
    cat "${work}/mix.log"
    if [[ ${rc} -ne 1 ]] || ! grep -q "holds samples of another setup" "${work}/mix.log"; then
        fail "samples of another setup were not refused (exit ${rc})"
    fi
}

step "prepare (venv, kernel, image)" bash -c 'scripts/setup-venv.sh >/dev/null && kernel/build.sh >/dev/null && vm/image.sh >/dev/null'
step "bad input refused before any guest starts" refuses_bad_input
step "quick run: every arm once" run_all
step "check the report" check_report 3
step "resume after losing one run" resume
step "check the report again" check_report 1
step "samples of another setup refused" refuses_mixing
