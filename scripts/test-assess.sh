#!/usr/bin/env bash
# playbooks/assess.yml on a guest with Debian's stock kernel, then its starter fleet document applied to a fresh
# guest, which is assessed again: the starter must reproduce the settings the first guest had.
#
#   scripts/test-assess.sh [all|stock|reference]     (make test-assess: all)
#
# One guest at a time (2 cores), each stopped whatever happens (vm/down.sh: by the PID vm/up.sh recorded):
#   a. as-stock: units with memory settings (a batch slice that forbids swap, a service in it that asks for swap,
#      a database that never swaps, an API service with OOMScoreAdjust= and MemoryKSM=, one changed without a
#      restart, one changed without a daemon-reload, a timer's service that is not running); assess.yml writes the reports; they hold the findings
#      expected, the starter validates (the filter's validation, and policygroups.core.validate on its file).
#   b. as-fresh: the same units without any memory setting; the policy_groups role applies the starter (systemd
#      backend, nothing restarted); assess.yml again: every expressible setting is back, and the fresh guest's
#      starter document is the first guest's.
#   c. as-ref: the reference kernel, the same units without settings, policy groups and swap tiers applied by the
#      policy_groups role (policyfs backend); assess.yml reads them: its starter holds the groups as they are
#      (policies, parent, bound cgroups) and the tier table, and validates.
#   d. as-ref-fresh: a fresh reference-kernel guest with the same units; the role applies c's starter; assess.yml
#      again: the same groups, policies and tiers are read back, and its starter is c's.
# Logs and reports: .cache/test-assess/.
set -euo pipefail
parts=${1:-all}
[[ ${parts} =~ ^(all|stock|reference)$ ]] || { echo "usage: $0 [all|stock|reference]" >&2; exit 2; }

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
work=.cache/test-assess
guest=""
TEST_NAME=test-assess
TEST_WORK=${work}
# shellcheck source=scripts/lib/steps.sh
source scripts/lib/steps.sh
rm -rf "${work}"
mkdir -p "${work}"

cleanup() { [[ -z "${guest}" ]] || vm/down.sh "${guest}" >/dev/null 2>&1 || true; }
steps_begin

in_guest() { vm/ssh.sh "${guest}" "$@"; }

boot() {  # boot NAME [KERNEL]: one guest (Debian's stock kernel unless KERNEL), and an inventory for it
    guest=$1
    vm/down.sh "${guest}" >/dev/null 2>&1 || true
    vm/up.sh "${guest}" "${2:-stock}" || fail "${guest} did not boot (vm/up.sh said why, above)"
    say "guest ${guest} up: $(in_guest uname -r)"
    cat >"${work}/${guest}.ini" <<INI
${guest} ansible_host=127.0.0.1 ansible_port=$(<".cache/vm/guests/${guest}/port") ansible_user=root ansible_ssh_private_key_file=${repo}/.cache/vm/id_ed25519
INI
}

down() { vm/down.sh "${guest}" >/dev/null 2>&1 || true; guest=""; }

# units WITH_SETTINGS(yes|no): the demo units, with or without their memory settings.
units() {
    local with=$1
    in_guest "with=${with}" 'bash -s' <<'SH'
set -eu
d=/etc/systemd/system
m() { [ "$with" = yes ] && printf '%s\n' "$@" || true; }
{ echo "[Slice]"; m "MemorySwapMax=0"; } >$d/batch.slice
{ echo "[Service]"; echo "Slice=batch.slice"; echo "ExecStart=/bin/sleep infinity";
  m "OOMScoreAdjust=500" "MemorySwapMax=512M"; } >$d/report.service
{ echo "[Service]"; echo "ExecStart=/bin/sleep infinity"; m "OOMScoreAdjust=-800" "MemorySwapMax=0" "MemoryLow=64M"; } >$d/db.service
{ echo "[Service]"; echo "ExecStart=/bin/sleep infinity"; m "OOMScoreAdjust=-500" "MemoryKSM=yes"; } >$d/api.service
{ echo "[Service]"; echo "ExecStart=/bin/sleep infinity"; m "OOMScoreAdjust=100"; } >$d/edited.service
# nightly.service: loaded (its timer references it) but not running, as a timer's batch job is most of the day.
{ echo "[Service]"; echo "Type=oneshot"; echo "ExecStart=/bin/true"; m "OOMScoreAdjust=300"; } >$d/nightly.service
printf '[Timer]\nOnCalendar=*-01-01 03:00\n' >$d/nightly.timer
systemctl daemon-reload
systemctl start batch.slice report.service db.service api.service edited.service nightly.timer
if [ "$with" = yes ]; then
    # api.service: a new OOMScoreAdjust= loaded but not restarted; edited.service: a drop-in not loaded yet.
    mkdir -p $d/api.service.d $d/edited.service.d
    printf '[Service]\nOOMScoreAdjust=-400\n' >$d/api.service.d/10-local.conf
    systemctl daemon-reload
    printf '[Service]\nOOMScoreAdjust=200\n' >$d/edited.service.d/10-local.conf
fi
SH
}

assess() {  # assess NAME: assess.yml against the current guest into ${work}/NAME
    playbook "${work}/${1}.log" -i "${work}/${guest}.ini" playbooks/assess.yml -e "policy_groups_assess_dir=${repo}/${work}/${1}"
    for f in "${guest}.json" "${guest}.md" "${guest}.fleet.yml" summary.json summary.md; do
        [[ -s "${work}/${1}/${f}" ]] || fail "assess.yml wrote no ${f}"
    done
}

check_first() {
    .venv/bin/python - "${work}/first/${guest}.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
found = {(f["kind"], f["subject"]) for f in r["findings"]}
print("    findings:", sorted(found))
print("    starter groups:", [(g["name"], g["members"]) for g in r["starter"]["policy_groups"]])
print("    unexpressed:", [(u["subject"], u["setting"]) for u in r["unexpressed"]])
assert r["backend"] == "systemd" and r["cgroup_v2"] and r["systemd"], r["backend"]
assert r["starter_errors"] == [], r["starter_errors"]
blocked = [f for f in r["findings"] if f["kind"] == "swap_blocked_by_ancestor"]
assert [(f["subject"], f["units"], f["explicit"]) for f in blocked] == [("/batch.slice", ["report.service"], ["report.service"])], blocked
assert ("restart_pending", "api.service") in found, found
assert ("daemon_reload_pending", "edited.service") in found, found
shared = [f for f in r["findings"] if f["kind"] == "swap_devices_shared"]
assert shared and shared[0]["severity"] == "warning" and "db.service" in shared[0]["latency_units"], shared
groups = {g["name"]: g for g in r["starter"]["policy_groups"]}
assert groups["oom_m800-noswap"]["members"]["systemd_units"] == ["db.service"], groups
assert "batch.slice" in groups["noswap"]["members"]["systemd_units"], groups
assert groups["oom_300"]["members"]["systemd_units"] == ["nightly.service"], groups  # inactive, read too
assert r["units"]["nightly.service"]["active_state"] == "inactive", r["units"]["nightly.service"]
left = {(u["subject"], u["setting"]) for u in r["unexpressed"]}
assert ("db.service", "MemoryLow=67108864") in left and ("report.service", "MemorySwapMax=536870912") in left, left
PY
    # The starter file validates through the collection's validate action too.
    ANSIBLE_COLLECTIONS_PATH="${repo}/.cache/collections" ANSIBLE_LOCALHOST_WARNING=false \
        .venv/bin/ansible localhost -m policygroups.core.validate \
        -e "@${work}/first/${guest}.fleet.yml" \
        -a '{"policy_groups": "{{ policy_groups }}", "policy_swap_tiers": "{{ policy_swap_tiers | default([]) }}"}' \
        >"${work}/validate.log" 2>&1 \
        || { cat "${work}/validate.log"; fail "policygroups.core.validate refused the starter"; }
    say "the starter validates (policygroups.core.validate)"
}

write_apply() {
    cat >"${work}/apply.yml" <<'YAML'
---
- name: Apply a fleet document
  hosts: all
  gather_facts: false
  roles:
    - role: policygroups.core.policy_groups
YAML
}

apply_starter() {
    cp "${work}/first/as-stock.fleet.yml" "${work}/starter.yml"
    # Nothing is restarted: the check compares what systemd has loaded, not what running processes have.
    playbook "${work}/apply.log" -i "${work}/${guest}.ini" "${work}/apply.yml" -e "@${work}/starter.yml"
}

check_reproduced() {
    .venv/bin/python - "${work}/first/as-stock.json" "${work}/again/as-fresh.json" <<'PY'
import json, sys
first, again = (json.load(open(p)) for p in sys.argv[1:])
assert again["starter_errors"] == [], again["starter_errors"]
expressible = ("OOMScoreAdjust", "MemoryZSwapWriteback", "MemoryKSM", "MemoryTHP")
members = {u for g in first["starter"]["policy_groups"] for u in g.get("members", {}).get("systemd_units", [])}
diffs = []
for unit in sorted(members):
    want = first["units"][unit]["settings"]
    have = (again["units"].get(unit) or {}).get("settings", {})
    for prop, value in want.items():
        if prop in expressible or (prop == "MemorySwapMax" and value == "0"):
            if have.get(prop) != value:
                diffs.append((unit, prop, value, have.get(prop)))
print("    units checked:", sorted(members))
assert not diffs, diffs
strip = lambda doc: [{k: v for k, v in g.items() if k != "description"} for g in doc["policy_groups"]]
assert strip(again["starter"]) == strip(first["starter"]), (again["starter"], first["starter"])
print("    the fresh guest's starter document is the first guest's")
PY
}

step "prepare (venv, image)" bash -c 'scripts/setup-venv.sh >/dev/null && vm/image.sh >/dev/null'
write_apply
if [[ ${parts} != reference ]]; then
step "a. boot as-stock" boot as-stock
step "a. units with memory settings" units yes
step "a. assess.yml" assess first
step "a. check the report and the starter" check_first
cp "${work}/first/as-stock.md" "${work}/as-stock.md"
step "a. stop as-stock" down
step "b. boot as-fresh" boot as-fresh
step "b. the same units, no settings" units no
step "b. apply the starter (policy_groups role)" apply_starter
step "b. assess.yml again" assess again
step "b. the settings are reproduced" check_reproduced
step "b. stop as-fresh" down
fi

# c and d: the reference kernel, where the host's own policy groups are read and reproduced.
boot_ref() {
    local kdir
    kdir=$(kernel/build.sh | tail -n1)
    boot "$1" "${kdir}/bzImage"
    # Mount the policy hierarchy as the policy_kernel role's unit does.
    in_guest 'mkdir -p /sys/fs/cgroup/policy && mount -t cgroup -o policy none /sys/fs/cgroup/policy && cat /sys/fs/cgroup/policy/policy.features'
}

apply_groups() {
    cat >"${work}/ref-fleet.yml" <<'YAML'
---
policy_swap_tiers:
  - {name: fast, start_priority: 100}
  - {name: slow, start_priority: -1}
policy_groups:
  - name: latency
    thp: never
    oom_score_adj: -500
    swap: {tiers: [fast]}
    members: {cgroups: [/system.slice/db.service, /system.slice/api.service]}
  - name: background
    oom_score_adj: 500
    swap: {tiers: [slow]}
    members: {cgroups: [/batch.slice]}
  - name: reports
    parent: background
    thp: madvise
    members: {cgroups: [/batch.slice/report.service]}
YAML
    playbook "${work}/apply-ref.log" -i "${work}/${guest}.ini" "${work}/apply.yml" -e "@${work}/ref-fleet.yml"
}

check_ref() {
    .venv/bin/python - "${work}/ref/as-ref.json" "${work}/ref-fleet.yml" <<'PY'
import json, sys, yaml
r = json.load(open(sys.argv[1]))
applied = yaml.safe_load(open(sys.argv[2]))
assert r["backend"] == "policyfs", r["backend"]
assert r["starter_errors"] == [], r["starter_errors"]
starter = r["starter"]
print("    starter tiers:", starter.get("policy_swap_tiers"))
print("    starter groups:", [(g["name"], {k: v for k, v in g.items() if k not in ("name", "description")})
                              for g in starter["policy_groups"]])
assert starter["policy_swap_tiers"] == applied["policy_swap_tiers"], starter["policy_swap_tiers"]
got = {g["name"]: g for g in starter["policy_groups"]}
for want in applied["policy_groups"]:
    have = got.get(want["name"])
    assert have, (want["name"], sorted(got))
    for key in ("thp", "oom_score_adj", "swap", "parent"):
        if key in want:
            assert have.get(key) == want[key], (want["name"], key, have.get(key), want[key])
    assert sorted(have["members"]["cgroups"]) == sorted(want["members"]["cgroups"]), (want["name"], have["members"])
PY
    say "the reference kernel's groups and tiers are in the starter as applied"
}

apply_ref_starter() {
    playbook "${work}/apply-ref-starter.log" -i "${work}/${guest}.ini" "${work}/apply.yml" -e "@${work}/ref/as-ref.fleet.yml"
}

check_ref_reproduced() {
    .venv/bin/python - "${work}/ref/as-ref.json" "${work}/ref-again/as-ref-fresh.json" <<'PY'
import json, sys
first, again = (json.load(open(p)) for p in sys.argv[1:])
assert again["backend"] == "policyfs" and again["starter_errors"] == [], (again["backend"], again["starter_errors"])


def groups(report):
    # The kernel binds cgroups: a unit the starter names (systemd_units) is read back as its control group. Compare
    # what the kernel holds: each group's policies and parent, and the cgroups its members are.
    cgroup_of = {u: e.get("control_group") for u, e in report["units"].items()}
    out = {}
    for g in report["starter"]["policy_groups"]:
        members = g.get("members", {})
        cgroups = set(members.get("cgroups", [])) | {cgroup_of[u] for u in members.get("systemd_units", [])}
        out[g["name"]] = ({k: v for k, v in g.items() if k not in ("description", "members", "name")}, sorted(cgroups))
    return out


assert groups(again) == groups(first), (groups(again), groups(first))
assert again["starter"]["policy_swap_tiers"] == first["starter"]["policy_swap_tiers"]
print("    the fresh reference-kernel guest reads back the same groups, policies, members and tiers")
PY
}

[[ ${parts} != stock ]] || exit 0
step "c. boot as-ref (reference kernel)" boot_ref as-ref
step "c. the same units, no settings" units no
step "c. policy groups and tiers (policy_groups role)" apply_groups
step "c. assess.yml" assess ref
step "c. the starter holds the kernel's groups" check_ref
step "c. stop as-ref" down
step "d. boot as-ref-fresh (reference kernel)" boot_ref as-ref-fresh
step "d. the same units, no settings" units no
step "d. apply c's starter (policy_groups role)" apply_ref_starter
step "d. assess.yml again" assess ref-again
step "d. the groups are reproduced" check_ref_reproduced
step "d. stop as-ref-fresh" down
