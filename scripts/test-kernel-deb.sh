#!/usr/bin/env bash
# The reference kernel as Debian packages on a guest that boots like a real Debian host (GRUB, an initramfs,
# Debian's stock kernel before): playbooks/kernel.yml collects the guest's modules, kernel/build.sh builds the
# localmod flavour for them, the policy_kernel role installs the packages, reboots into them through its handler,
# and rolls back to the stock kernel.
#
#   scripts/test-kernel-deb.sh          (make test-kernel-deb; not part of make test: the build takes long, see
#                                        docs/kernel.md)
#
# One guest, kd-grub, boots the partitioned disk of vm/bootdisk.sh. Steps, each timed, each asserted from outside:
#   a. playbooks/kernel.yml with policy_kernel_modules_dir: the guest's lsmod, headed by its release and architecture
#   b. kernel/build.sh --flavour localmod --modules <that list>: linux-image and linux-headers packages
#   c. check mode (reboot allowed): reports the package it would install, changes nothing (same boot, /boot, dpkg)
#   d. kernel.yml installs and reboots: the guest runs the packaged release from GRUB with its initramfs
#      (root=UUID=), the stock kernel still installed, the policy hierarchy mounted at boot, ABI version 1
#   e. the kernel's selftest (test_policy of the same build) passes in the guest
#   f. the same run again: changed=0, no reboot
#   g. policy_kernel_state=absent: the packages go, the guest reboots into the stock kernel
# POLICY_KERNEL_DEB_DIR=DIR uses an existing localmod build instead of building one (steps a and b still check it
# is one). Logs: .cache/test-kernel-deb/.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "${repo}"
work=.cache/test-kernel-deb
guest=kd-grub
TEST_NAME=test-kernel-deb
TEST_WORK=${work}
# shellcheck source=scripts/lib/steps.sh
source scripts/lib/steps.sh
rm -rf "${work}"
mkdir -p "${work}"

cleanup() { vm/down.sh "${guest}" >/dev/null 2>&1 || true; }
steps_begin

in_guest() { vm/ssh.sh "${guest}" "$@"; }
boot_id() { in_guest cat /proc/sys/kernel/random/boot_id; }
recap() {  # recap LOG FIELD: a number from the PLAY RECAP line of the guest
    grep -E "^${guest} +:" "$1" | tail -n1 | grep -oE "$2=[0-9]+" | cut -d= -f2
}
kernel_play() {  # kernel_play LOG ARGS...: playbooks/kernel.yml on the guest
    local log=$1
    shift
    playbook "${log}" -i "${work}/inventory.ini" playbooks/kernel.yml -e policy_kernel_reboot_timeout=900 "$@"
}

boot() {
    grub_disk_boot "${guest}" policy_canary
    # shellcheck disable=SC2016  # expanded in the guest
    in_guest 'test -e /boot/initrd.img-$(uname -r)' || fail "the guest was not booted with an initramfs"
}

collect_modules() {
    kernel_play "${work}/a-modules.log" -e "policy_kernel_modules_dir=${repo}/${work}/modules"
    local list=${work}/modules/${guest}.lsmod n
    [[ -f ${list} ]] || fail "no ${list}"
    head -n1 "${list}" | grep -qE "^# policygroups modules: host=${guest} release=[a-z]+ architecture=amd64$" \
        || fail "the list does not name the guest's release and architecture: $(head -n1 "${list}")"
    n=$(grep -cvE '^(#|Module )' "${list}")
    [[ ${n} -ge 5 ]] || fail "only ${n} modules listed"
    grep -qx 'ext4 0 0' "${list}" || grep -q '^ext4 ' "${list}" || fail "ext4, the root file system's, is not listed"
    say "${n} modules (loaded, or built into ${stock_release}): $(grep -vE '^(#|Module )' "${list}" | cut -d' ' -f1 \
        | sort | paste -sd' ' | cut -c1-200)"
}

build() {
    if [[ -n "${POLICY_KERNEL_DEB_DIR:-}" ]]; then
        kdir=${POLICY_KERNEL_DEB_DIR}
    else
        kernel/build.sh --flavour localmod --modules "${work}/modules/${guest}.lsmod" | tee "${work}/b-build.log"
        kdir=$(tail -n1 "${work}/b-build.log")
    fi
    grep -qx 'flavour=localmod' "${kdir}/manifest" || fail "${kdir} is no localmod build"
    release=$(<"${kdir}/kernelrelease")
    ls "${kdir}/linux-image-${release}_"*.deb >/dev/null || fail "no linux-image-${release} package in ${kdir}"
    say "built ${release}: $(sed -n 's/^packages=//p' "${kdir}/manifest")"
}

snapshot() {  # what the role may change: boot, kernel, /boot, GRUB's drop-ins, the packages installed
    in_guest 'cat /proc/sys/kernel/random/boot_id; uname -r
              find /boot /etc/default -xdev -printf "%p %y %s %T@\n" | sort; dpkg-query -W | sort'
}

check_mode() {
    local before after log=${work}/c-check-mode.log
    before=$(snapshot)
    kernel_play "${log}" --check --diff -e "policy_kernel_build_dir=${kdir}" -e policy_kernel_reboot_ok=true
    after=$(snapshot)
    if [[ "${before}" != "${after}" ]]; then
        diff <(echo "${before}") <(echo "${after}") || true
        fail "check mode changed the guest (diff above)"
    fi
    grep -q "would install linux-image-${release} " "${log}" || fail "check mode did not report the package"
    say "check mode: $(recap "${log}" changed) changes reported, nothing changed"
}

install() {
    local before log=${work}/d-install.log
    before=$(boot_id)
    kernel_play "${log}" -e "policy_kernel_build_dir=${kdir}" -e policy_kernel_reboot_ok=true
    [[ "$(boot_id)" != "${before}" ]] || fail "the guest did not reboot"
    [[ "$(in_guest uname -r)" == "${release}" ]] || fail "the guest runs $(in_guest uname -r), not ${release}"
    grep -q "${release} exposes policy ABI version 1" "${log}" || fail "the role's ABI check did not pass"
    in_guest bash -s "${release}" "${stock_release}" <<'GUEST' || fail "not booted as a Debian host boots a packaged kernel"
set -eu
rel=$1 stock=$2
grep -q "^BOOT_IMAGE=/boot/vmlinuz-${rel} root=UUID=" /proc/cmdline
test -s "/boot/initrd.img-${rel}"
dpkg-query -W -f '${db:Status-Status}\n' "linux-image-${rel}" | grep -qx installed
test -e "/boot/vmlinuz-${stock}" && grep -q "vmlinuz-${stock}" /boot/grub/grub.cfg   # the fallback entry
[ "$(systemctl is-active policygroups-hierarchy.service)" = active ]
[ "$(cat /sys/fs/cgroup/policy/policy.abi_version)" = 1 ]
echo "$(cat /proc/cmdline)"
echo "initramfs $(du -h "/boot/initrd.img-${rel}" | cut -f1), $(lsmod | tail -n +2 | wc -l) modules loaded, features: $(cat /sys/fs/cgroup/policy/policy.features)"
GUEST
}

selftest() {
    [[ -f "${kdir}/test_policy" ]] || fail "no test_policy in ${kdir}"
    vm/scp.sh "${guest}" "${kdir}/test_policy" :/root/
    # shellcheck disable=SC2016  # expanded in the guest
    in_guest 'rm -f /root/st.rc; nohup sh -c "POLICY_TEST_FAST=/dev/zram0 POLICY_TEST_SLOW=$(readlink -f /dev/disk/by-label/slowswap) /root/test_policy > /root/st.log 2>&1; echo \$? > /root/st.rc" >/dev/null 2>&1 &'
    local t=${SECONDS}
    until in_guest 'test -f /root/st.rc' 2>/dev/null; do
        ((SECONDS - t < 900)) || { in_guest 'cat /root/st.log' || true; fail "the selftest did not finish in 900 s"; }
        sleep 5
    done
    in_guest 'cat /root/st.log' | tee "${work}/e-selftest.log" | grep -E '^(ok|not ok)|Totals' || true
    [[ "$(in_guest cat /root/st.rc)" == 0 ]] || fail "the selftest failed (${work}/e-selftest.log)"
}

again() {
    local before log=${work}/f-again.log
    before=$(boot_id)
    kernel_play "${log}" -e "policy_kernel_build_dir=${kdir}" -e policy_kernel_reboot_ok=true
    [[ "$(recap "${log}" changed)" == 0 ]] || fail "the second run changed something (${log})"
    [[ "$(boot_id)" == "${before}" ]] || fail "the second run rebooted"
}

rollback() {
    local log=${work}/g-rollback.log
    kernel_play "${log}" -e policy_kernel_state=absent -e policy_kernel_reboot_ok=true
    [[ "$(in_guest uname -r)" == "${stock_release}" ]] || fail "after the rollback the guest runs $(in_guest uname -r)"
    ! in_guest "dpkg-query -W 'linux-image-*-policy*' 2>/dev/null | grep -q ." || fail "policy packages are left"
    say "rolled back to ${stock_release}"
}

step "prepare (venv, image, boot disk)" grub_disk_prepare
step "boot ${guest} from the GRUB disk (stock kernel)" boot
step "a. kernel.yml collects the guest's modules" collect_modules
step "b. build the localmod packages" build
step "c. check mode changes nothing" check_mode
step "d. install, reboot through the handler, verify" install
step "e. the selftest on the packaged kernel" selftest
step "f. second run: changed=0" again
step "g. roll back to the stock kernel" rollback
