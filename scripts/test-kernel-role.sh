#!/usr/bin/env bash
# The policy_kernel role's whole path on a guest that boots through GRUB, as a Debian host does: install the
# reference kernel to /boot, make it GRUB's default with a root= it resolves without an initramfs, mount
# the policy hierarchy at boot, reboot only through the handler gated by policy_kernel_reboot_ok, verify
# the running kernel's ABI.
#
#   scripts/test-kernel-role.sh          (make test-kernel-role)
#
# One guest, kr-grub, boots the partitioned disk of vm/bootdisk.sh (Debian's stock kernel with its
# initramfs, GRUB in the MBR; no -kernel). Steps, each timed, each asserted from outside the role:
#   a. check mode (policy_kernel_reboot_ok=true): the role reports its changes (image, GRUB drop-in,
#      mount unit) and changes nothing: same boot, same kernel, /boot and the unit directories untouched.
#   b. policy_kernel_reboot_ok=false: installs, regenerates GRUB's menu (the entry for the kernel boots
#      /boot/vmlinuz-<release> with root=PARTUUID=<root partition> and is the default), reports
#      policy_kernel_reboot_required=true, and does not reboot.
#   c. policy_kernel_reboot_ok=true: the role's handler reboots; afterwards the guest runs the reference
#      release, booted by GRUB (BOOT_IMAGE on the command line), the hierarchy is mounted by the role's
#      unit at boot, policy.abi_version is 1 and the role's own ABI check passed.
#   d. the same run again reports changed=0 and does not reboot, and skips the tasks that install files and enable
#      the unit (the probe found them as wanted) and those that read GRUB's menu and the ABI version (the probe did).
#   e. a line added to GRUB's settings, the modes of the configuration and the unit, and the unit disabled by hand
#      are put back by the next run, without a reboot.
# The guest is stopped at the end whatever happens (vm/down.sh: by the PID vm/up.sh recorded).
# POLICY_KERNEL_DIR=DIR uses an existing kernel/build.sh result instead of calling kernel/build.sh.
# Logs: .cache/test-kernel-role/ (one ansible-playbook log per step; the console log is kept by
# vm/down.sh in .cache/vm/logs/kr-grub.console.log).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
guest=kr-grub
work=.cache/test-kernel-role
playbook_timeout=${KERNEL_ROLE_PLAYBOOK_TIMEOUT:-1800}
TEST_NAME=test-kernel-role
TEST_WORK=${work}
# shellcheck source=scripts/lib/steps.sh
source scripts/lib/steps.sh
mkdir -p "${work}"
rm -f "${work}"/*.log

cleanup() { vm/down.sh "${guest}" >/dev/null 2>&1 || true; }
steps_begin

in_guest() { vm/ssh.sh "${guest}" "$@"; }
# The tasks that install the role's files and enable its unit: skipped on a converged host (step d), run where a
# file or the unit was changed by hand (step e).
install_tasks=("Install the kernel image and its configuration"
               "Configure GRUB for the policy kernel (root= without an initramfs, and the default entry)"
               "Install the unit that mounts the policy hierarchy at boot"
               "Enable the mount at boot (and mount now where the running kernel has the controller)")
# What the probe read too, read again only where the run changed it since (step d: skipped)
read_tasks=("Read GRUB's generated menu" "Read the policy ABI version")

prepare() {
    if [[ -z "${POLICY_KERNEL_DIR:-}" ]]; then
        kernel/build.sh >"${work}/kernel-build.log"
        POLICY_KERNEL_DIR=$(tail -n1 "${work}/kernel-build.log")
    fi
    local f
    for f in bzImage kernelrelease config; do
        [[ -f "${POLICY_KERNEL_DIR}/${f}" ]] || fail "no ${f} in '${POLICY_KERNEL_DIR}' (a kernel/build.sh result)"
    done
    release=$(<"${POLICY_KERNEL_DIR}/kernelrelease")
    image_sha=$(sha256sum "${POLICY_KERNEL_DIR}/bzImage" | cut -d' ' -f1)
    say "reference kernel ${release} from ${POLICY_KERNEL_DIR}"
    grub_disk_prepare
}

boot() {
    grub_disk_boot "${guest}" kr
    [[ "${stock_release}" != "${release}" ]] || fail "the fresh guest already runs ${release}"
    in_guest 'test -f /boot/grub/grub.cfg && test -x /usr/sbin/update-grub' || fail "the guest has no GRUB"
}

# run_role LOG [ANSIBLE-PLAYBOOK ARGS...]: the role once, through a playbook that prints its facts.
run_role() {
    local log=$1 rc=0
    shift
    cat >"${work}/site.yml" <<'YAML'
---
- name: Kernel role on a guest that boots through GRUB
  hosts: kr
  gather_facts: false
  roles:
    - role: policygroups.core.policy_kernel
  post_tasks:
    - name: Report the role's facts
      ansible.builtin.debug:
        msg: >-
          KR_FACTS release={{ policy_kernel_release }} bootloader={{ policy_kernel_bootloader }}
          reboot_required={{ policy_kernel_reboot_required }} abi={{ policy_kernel_abi_version | default('none') }}
YAML
    # ServerAlive: a connection left open across the reboot (the guest's QEMU ends and a new one forwards the
    # same port) is dropped after 30 s (steps.sh's ansible_env) instead of hanging (an ssh once hung 12 min).
    # Skipped tasks are shown here (steps.sh hides them): the steps assert that the reboot task was skipped.
    env "${ansible_env[@]}" ANSIBLE_DISPLAY_SKIPPED_HOSTS=true ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_FORCE_COLOR=0 \
        timeout "${playbook_timeout}" ansible-playbook -i "${work}/inventory.ini" "${work}/site.yml" \
        -e "policy_kernel_build_dir=${POLICY_KERNEL_DIR}" -e policy_kernel_reboot_timeout=900 "$@" \
        >"${log}" 2>&1 || rc=$?
    grep -E '^(TASK|RUNNING HANDLER) |^(changed|fatal|failed):|KR_FACTS|PLAY RECAP|^kr-grub ' "${log}" \
        | sed 's/^/    /' || true
    [[ ${rc} -eq 0 ]] || { tail -n 40 "${log}"; fail "ansible-playbook exited ${rc} (log: ${log})"; }
}

recap() {  # recap LOG FIELD: a number from the PLAY RECAP line of the guest
    grep -E "^${guest} +:" "$1" | tail -n1 | grep -oE "$2=[0-9]+" | cut -d= -f2
}
fact() {  # fact LOG NAME
    grep -oE "KR_FACTS .*" "$1" | tail -n1 | grep -oE "$2=[^ \"]+" | cut -d= -f2
}
task_status() {  # task_status LOG NAME: the status (ok, changed, skipping, ...) the task or handler NAME reported
    awk -v want="$2" '/^(TASK|RUNNING HANDLER) \[/ { t = $0; sub(/^[^[]*\[/, "", t); sub(/\][^]]*$/, "", t); next }
         t == want && /^[a-z]+:/ { sub(/:.*/, ""); print; exit }' "$1"
}
changed_tasks() {  # the names of the tasks and handlers that reported "changed"
    awk '/^(TASK|RUNNING HANDLER) \[/ { t = $0; sub(/^[^[]*\[/, "", t); sub(/\][^]]*$/, "", t) }
         /^changed:/ { print t }' "$1" | sort -u
}

# The state the role may change, to compare before and after check mode.
snapshot() {
    in_guest 'cat /proc/sys/kernel/random/boot_id; uname -r
              find /boot /etc/default /etc/systemd/system -xdev -printf "%p %y %s %T@\n" | sort
              sha256sum /boot/grub/grub.cfg; systemctl is-enabled policygroups-hierarchy.service 2>&1 || true'
}

# GRUB's menu as the guest has it: the default entry, and the reference kernel's entry's linux line.
check_grub_menu() {
    in_guest bash -s "${release}" <<'GUEST' || fail "GRUB's menu does not boot ${release} by default (see above)"
set -eu
rel=$1 cfg=/boot/grub/grub.cfg
uuid=$(findmnt -no UUID /) partuuid=$(findmnt -no PARTUUID /)
id="gnulinux-${rel}-advanced-${uuid}"
default=$(sed -n 's/^ *set default="\([^"$][^"]*\)"$/\1/p' "${cfg}")
echo "grub default: ${default}"
[ "${default}" = "gnulinux-advanced-${uuid}>${id}" ] || { echo "default is not ${id}"; exit 1; }
linux=$(awk -v id="'${id}'" 'index($0, id) { found = 1 } found && $1 == "linux" { print; exit }' "${cfg}")
echo "entry ${id}: ${linux}"
case "${linux}" in
    *"/boot/vmlinuz-${rel} root=PARTUUID=${partuuid} "*) ;;
    *) echo "the entry does not load /boot/vmlinuz-${rel} with root=PARTUUID=${partuuid}"; exit 1 ;;
esac
GUEST
}

step_check_mode() {
    local before after log=${work}/a-check-mode.log
    before=$(snapshot)
    run_role "${log}" --check --diff -e policy_kernel_reboot_ok=true
    after=$(snapshot)
    if [[ "${before}" != "${after}" ]]; then
        diff <(echo "${before}") <(echo "${after}") || true
        fail "check mode changed the guest (diff above: boot id, kernel, /boot, /etc/default, units)"
    fi
    local changed
    changed=$(changed_tasks "${log}")
    say "reported as changed: $(echo "${changed}" | paste -sd ';')"
    local want
    for want in "Install the kernel image and its configuration" \
        "Configure GRUB for the policy kernel (root= without an initramfs, and the default entry)" \
        "Install the unit that mounts the policy hierarchy at boot" "Reboot into the installed kernel"; do
        grep -qxF "policygroups.core.policy_kernel : ${want}" <<<"${changed}" || fail "check mode did not report '${want}'"
    done
    [[ "$(recap "${log}" failed)" == 0 ]] || fail "check mode failed"
    [[ "$(fact "${log}" reboot_required)" == True ]] || fail "check mode: policy_kernel_reboot_required is not true"
    say "check mode: $(recap "${log}" changed) changes reported, nothing changed (kernel ${stock_release}, same boot)"
}

step_install_no_reboot() {
    local boot_before log=${work}/b-install.log
    boot_before=$(in_guest cat /proc/sys/kernel/random/boot_id)
    run_role "${log}" -e policy_kernel_reboot_ok=false
    [[ "$(recap "${log}" changed)" -gt 0 ]] || fail "nothing changed"
    [[ "$(fact "${log}" reboot_required)" == True ]] || fail "policy_kernel_reboot_required is not true"
    [[ "$(fact "${log}" bootloader)" == grub ]] || fail "the role did not find GRUB"
    [[ "$(task_status "${log}" "policygroups.core.policy_kernel : Report a pending reboot that the role may not do")" == ok ]] \
        || fail "the role did not report the pending reboot"
    [[ "$(task_status "${log}" "policygroups.core.policy_kernel : Reboot into the installed kernel")" == skipping ]] \
        || fail "the role meant to reboot although policy_kernel_reboot_ok=false"
    [[ "$(in_guest cat /proc/sys/kernel/random/boot_id)" == "${boot_before}" ]] || fail "the guest rebooted"
    [[ "$(in_guest uname -r)" == "${stock_release}" ]] || fail "the running kernel changed without a reboot"
    [[ "$(in_guest sha256sum "/boot/vmlinuz-${release}" | cut -d' ' -f1)" == "${image_sha}" ]] \
        || fail "/boot/vmlinuz-${release} is not the built bzImage"
    grep -q 'Update the bootloader' <(changed_tasks "${log}") || fail "update-grub did not run"
    check_grub_menu
    say "installed, GRUB's default is ${release}, reboot required and not done"
}

step_reboot() {
    local boot_before log=${work}/c-reboot.log
    boot_before=$(in_guest cat /proc/sys/kernel/random/boot_id)
    run_role "${log}" -e policy_kernel_reboot_ok=true
    grep -qx 'policygroups.core.policy_kernel : Reboot into the policy kernel' <(changed_tasks "${log}") \
        || fail "the reboot handler did not run"
    [[ "$(fact "${log}" reboot_required)" == False ]] || fail "after the reboot, policy_kernel_reboot_required is not false"
    [[ "$(fact "${log}" abi)" == 1 ]] || fail "the role read no ABI version 1"
    grep -q "${release} exposes policy ABI version 1" "${log}" || fail "the role's ABI check did not pass"
    [[ "$(in_guest cat /proc/sys/kernel/random/boot_id)" != "${boot_before}" ]] || fail "the guest did not reboot"
    local running cmdline
    running=$(in_guest uname -r)
    [[ "${running}" == "${release}" ]] || fail "after the reboot the guest runs ${running}, not ${release}"
    cmdline=$(in_guest cat /proc/cmdline)
    [[ "${cmdline}" == "BOOT_IMAGE=/boot/vmlinuz-${release} root=PARTUUID="* ]] \
        || fail "not booted by GRUB from /boot/vmlinuz-${release} with root=PARTUUID=: ${cmdline}"
    say "running ${running}: ${cmdline}"
    in_guest bash -s <<'GUEST' || fail "the policy hierarchy is not mounted by policygroups-hierarchy.service at boot"
set -eu
unit=policygroups-hierarchy.service root=/sys/fs/cgroup/policy
[ "$(systemctl is-active "${unit}")" = active ]
[ "$(systemctl is-enabled "${unit}")" = enabled ]
findmnt -no FSTYPE,OPTIONS "${root}" | grep -q '^cgroup .*policy'
# Started by systemd at boot (before sshd, so before any Ansible connection), not by the role.
mounted=$(systemctl show -P ActiveEnterTimestampMonotonic "${unit}")
sshd=$(systemctl show -P ExecMainStartTimestampMonotonic ssh.service)
[ "${mounted}" -gt 0 ] && [ "${mounted}" -lt "${sshd}" ]
[ "$(cat "${root}/policy.abi_version")" = 1 ]
echo "${unit}: active since boot (${mounted} us < sshd ${sshd} us); $(findmnt -no SOURCE,FSTYPE,OPTIONS "${root}")"
echo "policy.abi_version $(cat "${root}/policy.abi_version"), features: $(cat "${root}/policy.features")"
GUEST
    check_grub_menu
}

step_idempotent() {
    local boot_before log=${work}/d-second-run.log
    boot_before=$(in_guest cat /proc/sys/kernel/random/boot_id)
    run_role "${log}" -e policy_kernel_reboot_ok=true
    [[ "$(recap "${log}" changed)" == 0 ]] || fail "the second run changed: $(changed_tasks "${log}" | paste -sd ';')"
    [[ "$(recap "${log}" failed)" == 0 ]] || fail "the second run failed"
    [[ "$(in_guest cat /proc/sys/kernel/random/boot_id)" == "${boot_before}" ]] || fail "the second run rebooted"
    # The probe read the installed files, the unit, GRUB's menu and the ABI version: what the host has as wanted,
    # and what nothing changed since the probe, costs no module run
    local task
    for task in "${install_tasks[@]}" "${read_tasks[@]}"; do
        [[ "$(task_status "${log}" "policygroups.core.policy_kernel : ${task}")" == skipping ]] \
            || fail "the second run ran '${task}' although the probe had read what it needs"
    done
    say "second run: changed=0, no reboot; $(recap "${log}" ok) tasks ok, the install tasks and the reads skipped"
}

# What the role installs, changed by hand on the converged host, is put back by the next run, which skips only
# what the probe found as wanted: a line added to GRUB's settings (update-grub runs again), the configuration
# and the mount unit made unreadable to others, the unit disabled.
step_repair() {
    local boot_before log=${work}/e-repair.log before after
    local files=("/boot/config-${release}" /etc/default/grub.d/policygroups-kernel.cfg
                 /etc/systemd/system/policygroups-hierarchy.service)
    local state="stat -c '%n %a %U:%G' ${files[*]}; sha256sum ${files[*]}; systemctl is-enabled ${files[2]##*/}"
    boot_before=$(in_guest cat /proc/sys/kernel/random/boot_id)
    before=$(in_guest "${state}")
    in_guest "echo '# changed by hand' >>${files[1]} && chmod 0600 ${files[0]} ${files[2]} \
              && systemctl disable --quiet ${files[2]##*/}"
    run_role "${log}" -e policy_kernel_reboot_ok=true
    [[ "$(recap "${log}" failed)" == 0 ]] || fail "the repairing run failed"
    local changed task
    changed=$(changed_tasks "${log}")
    for task in "${install_tasks[@]}" "Update the bootloader"; do
        grep -qxF "policygroups.core.policy_kernel : ${task}" <<<"${changed}" \
            || fail "the repairing run did not change '${task}': $(paste -sd ';' <<<"${changed}")"
    done
    [[ "$(task_status "${log}" "policygroups.core.policy_kernel : ${read_tasks[0]}")" == ok ]] \
        || fail "GRUB's menu was not read again after update-grub rewrote it"
    after=$(in_guest "${state}")
    [[ "${after}" == "${before}" ]] || { diff <(echo "${before}") <(echo "${after}") || true
                                         fail "the files or the unit differ from before they were changed (diff above)"; }
    [[ "$(in_guest cat /proc/sys/kernel/random/boot_id)" == "${boot_before}" ]] || fail "the repairing run rebooted"
    check_grub_menu
    say "repaired: $(paste -sd ';' <<<"${changed}" | sed 's/policygroups.core.policy_kernel : //g')"
}

step "prepare (venv, kernel, image, boot disk)" prepare
step "boot kr-grub from the GRUB disk" boot
step "a. check mode changes nothing" step_check_mode
step "b. install, reboot_ok=false: no reboot" step_install_no_reboot
step "c. reboot_ok=true: handler reboots, verify" step_reboot
step "d. second run: changed=0" step_idempotent
step "e. files changed by hand are put back" step_repair
