# shellcheck shell=bash
# Shared by the test scripts that work in guests as a sequence of named steps (scripts/test-team.sh,
# scripts/test-assess.sh, scripts/test-kernel-role.sh, scripts/test-kernel-deb.sh): progress lines with the time
# of day, each step's wall time, a report at exit, and ansible-playbook runs logged to a file with their failures
# shown.
#
# The sourcing script sets TEST_NAME (the prefix of every line) and TEST_WORK (the log directory), may define
# cleanup (run first at exit, e.g. to stop guests), then calls steps_begin. repo: the checkout's root.
: "${repo:?the sourcing script sets repo}"

steps_timings=()
steps_t0=${SECONDS}

say() { printf '%s: %s\n' "${TEST_NAME}" "$*"; }
fail() { say "FAIL: $*"; exit 1; }

steps_report() {
    local rc=$?
    # shellcheck disable=SC2034  # read by the sourcing script's cleanup
    steps_failed=${rc}
    declare -F cleanup >/dev/null && { cleanup || true; }
    printf '\n=== %s: step times\n' "${TEST_NAME}"
    printf '  %s\n' "${steps_timings[@]}"
    printf '  %-52s %5d s\n' total "$((SECONDS - steps_t0))"
    if [[ ${rc} -eq 0 ]]; then say "passed"; else say "FAILED (exit ${rc}); logs in ${TEST_WORK}/"; fi
}

steps_begin() {
    steps_t0=${SECONDS}
    trap steps_report EXIT
    trap 'exit 130' INT TERM
}

step() {  # step NAME COMMAND...: run one step, print and record its time
    local name=$1 t0=${SECONDS} rc=0
    shift
    printf '\n=== %s: %s (%s)\n' "${TEST_NAME}" "${name}" "$(date -u +%H:%M:%S)"
    "$@" || rc=$?
    steps_timings+=("$(printf '%-52s %5d s  %s' "${name}" "$((SECONDS - t0))" \
        "$([[ ${rc} -eq 0 ]] && echo ok || echo FAILED)")")
    return "${rc}"
}

# The environment of every Ansible command the tests run against guests: the project's collection, host keys
# not checked (every guest has fresh ones), pipelining, plain output.
ansible_env=(
    "ANSIBLE_COLLECTIONS_PATH=${repo}/.cache/collections" ANSIBLE_HOST_KEY_CHECKING=false
    ANSIBLE_PYTHON_INTERPRETER=auto_silent ANSIBLE_TIMEOUT=30 ANSIBLE_PIPELINING=true ANSIBLE_NOCOLOR=1
    ANSIBLE_RETRY_FILES_ENABLED=false ANSIBLE_DISPLAY_SKIPPED_HOSTS=false "PATH=${repo}/.venv/bin:${PATH}"
    "ANSIBLE_SSH_ARGS=-o ControlMaster=auto -o ControlPersist=60s -o StrictHostKeyChecking=no \
-o UserKnownHostsFile=/dev/null -o IdentitiesOnly=yes -o LogLevel=ERROR -o ServerAliveInterval=5 -o ServerAliveCountMax=6"
)

# run_playbook LOG ARGS...: ansible-playbook ARGS with the project's collection, output to LOG; the failed
# results and the recap are shown; the exit status is ansible-playbook's.
run_playbook() {
    local log=$1 rc=0
    shift
    env "${ansible_env[@]}" timeout 1800 ansible-playbook "$@" >"${log}" 2>&1 || rc=$?
    grep -E '^(fatal|failed):|PLAY RECAP' -A1 "${log}" | sed 's/^/    /' || true
    return "${rc}"
}

# playbook LOG ARGS...: run_playbook, failing the test (with the log's tail) when it fails.
playbook() {
    local log=$1 rc=0
    run_playbook "$@" || rc=$?
    [[ ${rc} -eq 0 ]] || { tail -n 40 "${log}"; fail "ansible-playbook exited ${rc} (log: ${log})"; }
}

# Guests that boot through GRUB, as a Debian host does (scripts/test-kernel-role.sh, scripts/test-kernel-deb.sh).
# grub_disk_prepare: the venv, the guest image and the partitioned GRUB disk of vm/bootdisk.sh.
grub_disk_prepare() {
    scripts/setup-venv.sh >/dev/null
    vm/image.sh >/dev/null
    vm/bootdisk.sh | tail -n1 >"${TEST_WORK}/bootdisk-dir"
    say "boot disk $(<"${TEST_WORK}/bootdisk-dir")"
}

# grub_disk_boot GUEST GROUP: a fresh GUEST from the GRUB disk, checked to be booted by GRUB (BOOT_IMAGE= on its
# command line); sets stock_release (its kernel) and writes TEST_WORK/inventory.ini with GUEST in GROUP.
grub_disk_boot() {
    local guest=$1 group=$2
    vm/down.sh "${guest}" >/dev/null 2>&1 || true
    vm/up.sh "${guest}" bootdisk || fail "${guest} did not boot from the GRUB disk (vm/up.sh said why, above)"
    stock_release=$(vm/ssh.sh "${guest}" uname -r)
    vm/ssh.sh "${guest}" 'grep -q BOOT_IMAGE= /proc/cmdline' || fail "${guest} was not booted by GRUB (no BOOT_IMAGE=)"
    printf '[%s]\n%s ansible_host=127.0.0.1 ansible_port=%s ansible_user=root ansible_ssh_private_key_file=%s\n' \
        "${group}" "${guest}" "$(<".cache/vm/guests/${guest}/port")" "${repo}/.cache/vm/id_ed25519" \
        >"${TEST_WORK}/inventory.ini"
    say "guest up: ${stock_release}, booted by GRUB ($(vm/ssh.sh "${guest}" cat /proc/cmdline))"
}
