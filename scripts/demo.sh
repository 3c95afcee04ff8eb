#!/usr/bin/env bash
# The main job, end to end, on this machine: boot the example fleet (examples/inventory: web1, db1, worker1) as
# QEMU guests with the reference kernel and operate it as a fleet would be operated:
#
#   preview   playbooks/rollout.yml --check --diff on the fresh guests: what would change, nothing changes (the
#             policy itself is reported as pending until the policy_kernel role has mounted the policy hierarchy)
#   rollout   playbooks/rollout.yml: canary (web1), then waves (db1, then worker1), health checks per batch; the
#             policy_kernel role installs the kernel the guests booted and mounts the hierarchy, then the policy
#   again     the same rollout a second time: changed=0 on every host
#   tamper    by hand: web1 latency THP never -> always and db1 background swap tiers slow -> fast (runtime),
#             worker1's persisted policy file edited (persisted drift: right now, wrong after a reboot)
#   audit     playbooks/drift.sh: exit status 2 and a report (JSON, Markdown, JUnit) with exactly those findings
#   converge  the rollout again fixes all three; a second audit exits 0
#   reboot    worker1 is rebooted: policygroups-restore.service brings the policy back before the bound services
#             start, without Ansible; a last audit exits 0
#
# and clean up: the guests are stopped on success, on failure and on Ctrl-C (--keep leaves them running, also
# after a failure, to look into them).
#
#   scripts/demo.sh [--keep] [--from again|tamper]
#
# --from reuses the guests of an earlier run that was given --keep (same $DEMO_DIR) and starts at that step:
# "again" (the second rollout) or "tamper"; for working on the later steps without booting and rolling out anew.
#
# Builds whatever is missing first (venv, reference kernel, guest image), with progress shown; everything is
# cached under .cache/, so a second run only boots and operates. POLICY_KERNEL_DIR=DIR uses an existing
# kernel/build.sh result. Every step's output and the reports are kept in $DEMO_DIR (default .cache/demo);
# scripts/test-fleet.sh runs this script and then checks those artifacts in detail.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"

keep=false
from=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --keep) keep=true; shift ;;
        --from) from=$2; shift 2 ;;
        *) echo "usage: $0 [--keep] [--from again|tamper]" >&2; exit 2 ;;
    esac
done
case "${from}" in ""|again|tamper) ;; *) echo "demo: --from again or tamper, not '${from}'" >&2; exit 2 ;; esac

hosts=(web1 db1 worker1)
reboot_host=worker1
work=${DEMO_DIR:-${repo}/.cache/demo}
steps=13
step_no=0
t_all=${SECONDS}
t_step=${SECONDS}
step_names=()
step_times=()

if [[ -t 1 ]]; then bold() { printf '\033[1m%s\033[0m\n' "$*"; }; else bold() { printf '%s\n' "$*"; }; fi

# step TITLE: close the timing of the previous step and announce the next one.
step() {
    if [[ ${step_no} -gt 0 ]]; then
        step_times+=("$((SECONDS - t_step))")
    fi
    step_no=$((step_no + 1))
    step_names+=("$*")
    t_step=${SECONDS}
    printf '\n'
    bold "[${step_no}/${steps}] $*  ($((SECONDS - t_all)) s elapsed)"
}

timings() {
    [[ ${#step_names[@]} -gt ${#step_times[@]} ]] && step_times+=("$((SECONDS - t_step))")
    printf '\nWall time per step:\n'
    local i
    for i in "${!step_names[@]}"; do
        printf '  %4d s  %s\n' "${step_times[$i]:-0}" "${step_names[$i]}"
    done
    printf '  %4d s  total\n' "$((SECONDS - t_all))"
    {
        for i in "${!step_names[@]}"; do printf '%s\t%s\n' "${step_times[$i]:-0}" "${step_names[$i]}"; done
        printf '%s\ttotal\n' "$((SECONDS - t_all))"
    } >"${work}/timings.tsv" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    timings
    if [[ "${keep}" == true ]]; then
        printf '\nGuests left running: %s (vm/ssh.sh demo-web1; vm/down.sh demo-web1 demo-db1 demo-worker1)\n' \
            "${hosts[*]}"
    else
        local h
        for h in "${hosts[@]}"; do vm/down.sh "demo-${h}" || true; done
    fi
    printf '\ndemo: %s after %d s; outputs in %s\n' "$([[ ${rc} -eq 0 ]] && echo "done" || echo "FAILED (${rc})")" \
        "$((SECONDS - t_all))" "${work}"
    exit "${rc}"
}
trap cleanup EXIT
trap 'echo "demo: interrupted" >&2; exit 130' INT TERM

# fail WHY [DETAILS]: end the demo with WHY (and DETAILS, such as a console excerpt), also kept in $work/failure
# where scripts/test-fleet.sh reports it.
fail() {
    { printf 'demo: %s\n' "$1"; [[ -z "${2:-}" ]] || printf '%s\n' "$2"; } | tee "${work}/failure" >&2 2>/dev/null || true
    exit 1
}

# recap LOG: the PLAY RECAP lines of an ansible-playbook log, as "host changed failed unreachable".
recap() {
    awk '/^PLAY RECAP/ {on = 1; next}
         on && / : ok=/ {
             h = $1; c = f = u = ""
             for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "changed") c = kv[2];
                 if (kv[1] == "failed") f = kv[2]; if (kv[1] == "unreachable") u = kv[2] }
             print h, c, f, u }' "$1"
}

# playbook NAME ARGS...: ansible-playbook with its output shown and kept in $work/NAME.log; returns its status.
playbook() {
    local name=$1
    shift
    local rc=0
    ansible-playbook "$@" 2>&1 | tee "${work}/${name}.log" || rc=$?
    return "${rc}"
}

# rollout NAME [ARGS...]: the fleet rollout; fails the demo unless every host ends with failed=0 unreachable=0.
rollout() {
    local name=$1
    shift
    playbook "${name}" playbooks/rollout.yml "${inventory[@]}" "$@" \
        || fail "${name}: ansible-playbook failed (log: ${work}/${name}.log)"
    local h f u seen=0
    while read -r h _ f u; do
        seen=$((seen + 1))
        [[ "${f}" == 0 && "${u}" == 0 ]] || fail "${name}: ${h} failed=${f} unreachable=${u}"
    done < <(recap "${work}/${name}.log")
    [[ ${seen} -eq ${#hosts[@]} ]] || fail "${name}: the play recap lists ${seen} host(s), expected ${#hosts[@]}"
}

# changed_hosts NAME: hosts whose recap says changed > 0.
changed_hosts() {
    recap "${work}/$1.log" | awk '$2 != 0 {print $1 " (changed=" $2 ")"}'
}

# audit NAME EXPECTED_STATUS: playbooks/drift.sh into $work/NAME/, its Markdown report shown.
audit() {
    local name=$1 want=$2 rc=0
    mkdir -p "${work}/${name}"
    POLICY_GROUPS_REPORT_DIR="${work}/${name}" playbooks/drift.sh "${inventory[@]}" >"${work}/${name}.log" 2>&1 || rc=$?
    echo "${rc}" >"${work}/${name}/exit_status"
    echo
    if [[ -f "${work}/${name}/drift.md" ]]; then
        sed 's/^/    /' "${work}/${name}/drift.md"
    else
        tail -n 40 "${work}/${name}.log"
    fi
    echo
    echo "playbooks/drift.sh exit status ${rc} (0 in sync, 2 drift, 1 error); reports: ${work}/${name}/drift.{json,md,xml}"
    [[ ${rc} -eq ${want} ]] || fail "${name}: the drift audit exited ${rc}, expected ${want} (log: ${work}/${name}.log)"
}

guest() { vm/ssh.sh "demo-$1" "${@:2}"; }

# skipped ID: this step comes before the --from step (IDs in order: boot preview rollout again tamper).
skipped() {
    local order=(boot preview rollout again tamper) i
    [[ -z "${from}" ]] && return 1
    for i in "${order[@]}"; do
        [[ "${i}" == "${from}" ]] && return 1
        [[ "${i}" == "$1" ]] && return 0
    done
    return 1
}

# ---------------------------------------------------------------------------------------------------------------
step "Python venv with Ansible and the collection"
scripts/setup-venv.sh
# shellcheck source=/dev/null
source .venv/bin/activate
export ANSIBLE_COLLECTIONS_PATH="${repo}/.cache/collections"
export ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_PIPELINING=True ANSIBLE_DISPLAY_SKIPPED_HOSTS=False
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml ANSIBLE_INTERPRETER_PYTHON=auto_silent ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_TIMEOUT=60 ANSIBLE_NOCOLOR=True   # logs are parsed: no colour codes
# A persistent fact cache, as roles/policy_groups/README.md advises for a fleet: with each host's facts kept from
# one playbook run to the next (and made anew with the guests), the policy_groups role reaches a host whose facts
# did not change in one module run instead of two, and Python's discovery on a host runs once.
export ANSIBLE_CACHE_PLUGIN=jsonfile ANSIBLE_CACHE_PLUGIN_CONNECTION="${work}/facts"
if [[ -z "${from}" ]]; then rm -rf "${work}"; fi
mkdir -p "${work}"

step "Reference kernel (kernel/build.sh; cached after the first build)"
if [[ -z "${POLICY_KERNEL_DIR:-}" ]]; then
    kernel/build.sh | tee "${work}/kernel.log"
    POLICY_KERNEL_DIR=$(tail -n1 "${work}/kernel.log")
fi
[[ -f "${POLICY_KERNEL_DIR}/bzImage" ]] || fail "no bzImage in ${POLICY_KERNEL_DIR}"
echo "kernel: ${POLICY_KERNEL_DIR} ($(<"${POLICY_KERNEL_DIR}/kernelrelease"))"

step "Guest image (vm/image.sh; cached after the first build)"
vm/image.sh

inventory=(-i examples/inventory -i "${work}/inventory/hosts.yml")
if skipped boot; then
    step "Reuse the running guests of an earlier run (--from ${from})"
    for h in "${hosts[@]}"; do
        if ! guest "${h}" true; then fail "demo-${h} is not running: run scripts/demo.sh --keep first"; fi
    done
    [[ -f "${work}/inventory/hosts.yml" ]] || fail "no ${work}/inventory/hosts.yml: run scripts/demo.sh --keep first"
else
step "Boot the example fleet: ${hosts[*]} (reference kernel; boots are serialised under software emulation)"
for h in "${hosts[@]}"; do vm/down.sh "demo-${h}" >/dev/null 2>&1 || true; done   # never reuse a guest's state
mkdir -p "${work}/inventory"
{
    echo "# Connection details of the demo guests (generated by scripts/demo.sh)"
    echo "all:"
    echo "  vars:"
    echo "    # A reference kernel built without zswap or NUMA leaves those policies out: apply the rest of the"
    echo "    # fleet document and list what is left out, rather than refuse the host."
    echo "    policy_groups_on_unsupported: drop"
    echo "  hosts:"
    for h in "${hosts[@]}"; do
        numa=1
        [[ "${h}" != web* ]] || numa=2   # web hosts have two NUMA nodes (examples/inventory/group_vars/web.yml)
        # The harness's default memory (1024 MB), as the policyfs scenario and test-kernel use: a guest then
        # starts from the booted state one of them saved (vm/up.sh keys states on the machine), not cold.
        vm/up.sh "demo-${h}" "${POLICY_KERNEL_DIR}/bzImage" --hostname "${h}" --numa "${numa}" >&2
        cat <<HOST
    ${h}:
      ansible_host: 127.0.0.1
      ansible_port: $(<".cache/vm/guests/demo-${h}/port")
      ansible_user: root
      ansible_ssh_private_key_file: ${repo}/.cache/vm/id_ed25519
      ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes
HOST
    done
} >"${work}/inventory/hosts.yml"
fi

if ! skipped preview; then
step "Preview in check mode: playbooks/rollout.yml --check --diff (what would change; nothing changes)"
snapshot='ls /boot /etc/systemd/system /etc/policygroups /usr/local/lib/policygroups /sys/fs/cgroup/policy 2>&1
    cat /sys/kernel/mm/swap/tiers; grep -c . /proc/mounts; true'
for h in "${hosts[@]}"; do guest "${h}" "${snapshot}" >"${work}/fresh-${h}.before"; done
rollout preview --check --diff -e "policy_kernel_build_dir=${POLICY_KERNEL_DIR}"
for h in "${hosts[@]}"; do
    guest "${h}" "${snapshot}" >"${work}/fresh-${h}.after"
    cmp -s "${work}/fresh-${h}.before" "${work}/fresh-${h}.after" \
        || fail "check mode changed ${h}: $(diff "${work}/fresh-${h}.before" "${work}/fresh-${h}.after")"
done
echo "check mode left every guest as it was (policy hierarchy, tiers, persisted file, units compared)"

fi

if ! skipped rollout; then
step "Roll out the kernel and the example policy: playbooks/rollout.yml (canary web1, then waves)"
rollout rollout -e "policy_kernel_build_dir=${POLICY_KERNEL_DIR}"
echo "Batches, in order:"
grep -o "ROLLOUT BATCH [^'\"]*" "${work}/rollout.log" | sed 's/^ROLLOUT BATCH /  /'

fi

if ! skipped again; then
step "Roll out again: every host must report changed=0"
rollout rollout-again -e '{"policy_groups_waves": ["100%"]}'
again=$(changed_hosts rollout-again)
[[ -z "${again}" ]] || fail "the second rollout changed: ${again}"
echo "second rollout: changed=0 on ${hosts[*]}"

fi

step "Tamper by hand: web1 and db1 in the kernel (runtime), worker1 in its persisted file"
# shellcheck disable=SC2016  # expanded in the guest
guest web1 'echo always > /sys/fs/cgroup/policy/latency/policy.thp
    echo "web1: latency/policy.thp is now $(cat /sys/fs/cgroup/policy/latency/policy.thp) (fleet document: never)"'
# shellcheck disable=SC2016  # expanded in the guest
guest db1 'echo fast > /sys/fs/cgroup/policy/background/policy.swap.tiers
    echo "db1: background/policy.swap.tiers is now $(cat /sys/fs/cgroup/policy/background/policy.swap.tiers) (fleet document: slow)"'
guest worker1 python3 - <<'PY'
import json, os
path = "/etc/policygroups/policy.json"
doc = json.load(open(path))
group = next(g for g in doc["policy_groups"] if g["name"] == "background")
before = group.get("oom_score_adj")
group["oom_score_adj"] = 0
with open(path + ".tmp", "w") as handle:
    json.dump(doc, handle, indent=2, sort_keys=True)
os.replace(path + ".tmp", path)
print(f"worker1: background oom_score_adj in {path} is now 0 (was {before}); the kernel still has {before}")
PY

step "Drift audit in check mode: playbooks/drift.sh (exit status 2: drift)"
audit drift-tampered 2

step "Converge: the rollout fixes the drift (canary, then the other hosts in one wave)"
rollout converge -e '{"policy_groups_waves": ["100%"]}'
step "Drift audit after the converge (exit status 0: in sync)"
audit drift-converged 0

step "Reboot ${reboot_host}: the policy comes back at boot, without Ansible"
boot_before=$(guest "${reboot_host}" cat /proc/sys/kernel/random/boot_id)
guest "${reboot_host}" 'systemctl reboot' || true
t0=${SECONDS}
boot_after=${boot_before}
while [[ "${boot_after}" == "${boot_before}" ]]; do
    (( SECONDS - t0 < ${VM_BOOT_TIMEOUT:-600} )) \
        || fail "${reboot_host} did not come back within ${VM_BOOT_TIMEOUT:-600} s (console: .cache/vm/logs/demo-${reboot_host}.console.log)"
    # a kernel panic or a guest that stays down ends the wait at once (an emulator oops in early boot does not:
    # vm/reboot-watch.sh starts the machine again)
    if ! why=$(vm/console-check.sh "demo-${reboot_host}"); then
        details=""
        [[ "${why}" != *$'\n'* ]] || details=${why#*$'\n'}
        fail "${reboot_host} did not come back from the reboot: ${why%%$'\n'*}" "${details}"
    fi
    sleep 3
    boot_after=$(guest "${reboot_host}" cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo "${boot_before}")
done
echo "${reboot_host} rebooted in $((SECONDS - t0)) s (boot id ${boot_before:0:8} -> ${boot_after:0:8})"
guest "${reboot_host}" python3 - >"${work}/reboot.json" <<'PY'
import json, subprocess

def show(unit):
    props = "ActiveState,Result,ExecMainStatus,ExecMainStartTimestampMonotonic,ExecMainExitTimestampMonotonic," \
            "ActiveEnterTimestampMonotonic,MainPID"
    out = subprocess.run(["systemctl", "show", "-p", props, unit], capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

def policy_group(pid):
    for line in open(f"/proc/{pid}/cgroup"):
        _, controllers, path = line.rstrip("\n").split(":", 2)
        if "policy" in controllers.split(","):
            return path
    return None

def read(path):
    try:
        return open(path).read().strip()
    except OSError as exc:
        return f"error: {exc}"

units = {u: show(u) for u in ("policygroups-hierarchy.service", "policygroups-restore.service", "ssh.service",
                             "systemd-journald.service")}
print(json.dumps({
    "kernel_release": read("/proc/sys/kernel/osrelease"),
    "boot_id": read("/proc/sys/kernel/random/boot_id"),
    "units": units,
    "restore_journal": subprocess.run(["journalctl", "-b", "-o", "cat", "-u", "policygroups-restore.service"],
                                      capture_output=True, text=True).stdout.splitlines(),
    "member_groups": {u: policy_group(units[u]["MainPID"]) for u in ("ssh.service", "systemd-journald.service")
                      if units[u].get("MainPID", "0") != "0"},
    "bind": {g: read(f"/sys/fs/cgroup/policy/{g}/policy.bind").splitlines() for g in ("latency", "background")},
    "effective": {g: read(f"/sys/fs/cgroup/policy/{g}/policy.effective").splitlines()
                  for g in ("latency", "background", "background/batch")},
    "tiers": read("/sys/kernel/mm/swap/tiers").splitlines(),
}, indent=2, sort_keys=True))
PY
python3 - "${work}/reboot.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
u = r["units"]
mount, restore, ssh = u["policygroups-hierarchy.service"], u["policygroups-restore.service"], u["ssh.service"]
print(f"kernel after the reboot: {r['kernel_release']}")
print(f"policygroups-restore.service: {restore.get('ActiveState')}/{restore.get('Result')}, ran at "
      f"{int(restore.get('ExecMainStartTimestampMonotonic', 0)) / 1e6:.2f} s after boot; ssh.service started at "
      f"{int(ssh.get('ExecMainStartTimestampMonotonic', 0)) / 1e6:.2f} s")
for line in r["restore_journal"]:
    print(f"  journal: {line}")
for unit, group in r["member_groups"].items():
    print(f"{unit} main process is in policy group {group}")
for group, lines in r["bind"].items():
    print(f"{group}/policy.bind: {' '.join(lines) or '(none)'}")
problems = []
if restore.get("Result") != "success" or restore.get("ExecMainStatus") != "0":
    problems.append("the restore did not succeed")
if not int(mount.get("ActiveEnterTimestampMonotonic", 0)) <= int(restore.get("ExecMainStartTimestampMonotonic", 0)):
    problems.append("the restore started before the hierarchy was mounted")
if not 0 < int(restore.get("ExecMainExitTimestampMonotonic", 0)) <= int(ssh.get("ExecMainStartTimestampMonotonic", 0)):
    problems.append("ssh.service started before the restore finished")
if r["member_groups"].get("ssh.service") != "/latency":
    problems.append(f"sshd is in {r['member_groups'].get('ssh.service')}, expected /latency")
if r["member_groups"].get("systemd-journald.service") != "/background":
    problems.append(f"journald is in {r['member_groups'].get('systemd-journald.service')}, expected /background")
if problems:
    sys.exit("demo: after the reboot: " + "; ".join(problems))
PY
step "Drift audit after the reboot (exit status 0: runtime and persisted state both as applied)"
audit drift-rebooted 0
