#!/usr/bin/env bash
# Boot one test guest and wait until it answers on SSH.
#
#   vm/up.sh NAME KERNEL [--mem MB] [--smp N] [--hostname H] [--append 'ARGS'] [--timeout S]
#            [--drive FILE[:ro]]...
#
# KERNEL is a bzImage path (booted without initramfs: the reference kernel has everything
# built in) or the word "stock" (Debian's kernel and initramfs from the image), both passed
# to QEMU with -kernel; or the word "bootdisk": no -kernel, the guest boots from an overlay of
# the partitioned disk vm/bootdisk.sh builds, through its GRUB (BIOS), whose configuration on
# that disk sets the kernel and its command line (so --append is refused there; --hostname and
# the machine id then come from the disk, not from the command line).
# --drive attaches FILE as one more virtio disk (vdc, vdd, ... in order; qcow2 if the name ends
# in .qcow2, else raw; ":ro" read-only).
# The guest boots from a qcow2 overlay of the cached image (the image itself is never written),
# with a second virtio disk formatted as swap and labelled "slowswap". Inside the guest,
# test-swap.service (from vm/guest/) turns on zram0 at priority 100 and slowswap at priority 10.
# SSH is forwarded from a free port on 127.0.0.1 only; the guest has no other network access.
# State lives in .cache/vm/guests/NAME/: qemu.pid, port, console.log, overlay.qcow2, guest.env.
#
# Boots are serialised by a lock: under software emulation one booting guest takes both cores.
# A guest that does not answer within the timeout (default 300 s), panics or exits is reported
# with the tail of its console log and killed. Environment: VM_ACCEL=kvm|tcg skips the probe.
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
    echo "usage: $0 NAME KERNEL|stock|bootdisk [--mem MB] [--smp N] [--hostname H] [--append ARGS] [--timeout S]" \
        "[--drive FILE[:ro]]..." >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
NAME=$1 KERNEL=$2
shift 2
MEM=1024 SMP=2 HOSTNAME_=${NAME} EXTRA_APPEND="" TIMEOUT=${VM_BOOT_TIMEOUT:-300} SLOW_SWAP_SIZE=1G
EXTRA_DRIVES=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mem) MEM=$2; shift 2 ;;
        --smp) SMP=$2; shift 2 ;;
        --hostname) HOSTNAME_=$2; shift 2 ;;
        --append) EXTRA_APPEND=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --drive) EXTRA_DRIVES+=("$2"); shift 2 ;;
        *) usage ;;
    esac
done
[[ "${NAME}" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$ ]] || die "bad guest name '${NAME}'"

IMAGE_DIR=$("${VM_DIR}/image.sh" | tail -n1)
DIR=$(guest_dir "${NAME}")
BOOTDISK_DIR=""
if [[ "${KERNEL}" == bootdisk ]]; then
    [[ -z "${EXTRA_APPEND}" ]] || die "--append cannot reach a guest that boots through GRUB (KERNEL bootdisk)"
    # Resolved before the boot lock is taken: building the disk boots a guest of its own.
    BOOTDISK_DIR=$("${VM_DIR}/bootdisk.sh" | tail -n1)
    [[ -f "${BOOTDISK_DIR}/disk.qcow2" ]] || die "vm/bootdisk.sh printed no disk directory"
fi
DRIVE_ARGS=()
for spec in "${EXTRA_DRIVES[@]}"; do
    file=${spec%:ro} format=raw readonly=""
    [[ "${spec}" == *:ro ]] && readonly=",readonly=on"
    [[ "${file}" == *.qcow2 ]] && format=qcow2
    [[ -f "${file}" ]] || die "--drive: no file ${file}"
    file=$(cd "$(dirname "${file}")" && pwd)/$(basename "${file}")
    DRIVE_ARGS+=(-drive "file=${file},if=virtio,format=${format},cache=writeback${readonly}")
done

if guest_alive "${NAME}"; then
    log "${NAME} is already running (port $(<"${DIR}/port"))"
    exit 0
fi

KERNEL_ARGS=()
if [[ "${KERNEL}" == stock ]]; then
    KERNEL_ARGS=(-kernel "${IMAGE_DIR}/vmlinuz-stock" -initrd "${IMAGE_DIR}/initrd-stock")
    KERNEL_LABEL="stock $(<"${IMAGE_DIR}/kernel-release-stock")"
elif [[ "${KERNEL}" == bootdisk ]]; then
    KERNEL_LABEL="GRUB from ${BOOTDISK_DIR}/disk.qcow2"
else
    [[ -f "${KERNEL}" ]] || die "no kernel image at ${KERNEL}"
    KERNEL=$(cd "$(dirname "${KERNEL}")" && pwd)/$(basename "${KERNEL}")
    KERNEL_ARGS=(-kernel "${KERNEL}")
    KERNEL_LABEL=${KERNEL}
fi

# accel: "kvm" only when a KVM guest really runs here (nested KVM can exist and still fail),
# probed once per host boot by booting the stock kernel to its "no root" panic.
accel() {
    if [[ -n "${VM_ACCEL:-}" ]]; then echo "${VM_ACCEL}"; return; fi
    local cache="${VM_CACHE}/accel" boot_id
    boot_id=$(cat /proc/sys/kernel/random/boot_id)
    if [[ -f "${cache}" && "$(head -n1 "${cache}")" == "${boot_id}" ]]; then
        tail -n1 "${cache}"; return
    fi
    local result=tcg probe_log="${VM_CACHE}/kvm-probe.log"
    if [[ -r /dev/kvm && -w /dev/kvm ]]; then
        rm -f "${probe_log}"
        if timeout 20 qemu-system-x86_64 -accel kvm -cpu host -m 256 -smp 1 -display none \
            -no-reboot -kernel "${IMAGE_DIR}/vmlinuz-stock" \
            -append 'console=ttyS0 panic=-1 root=/dev/nonexistent rootwait=0' \
            -serial "file:${probe_log}" >/dev/null 2>&1 \
            && grep -q 'Kernel panic' "${probe_log}"; then
            result=kvm
        fi
    fi
    printf '%s\n%s\n' "${boot_id}" "${result}" >"${cache}"
    echo "${result}"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

kill_guest() {
    local pid
    [[ -f "${DIR}/qemu.pid" ]] || return 0
    pid=$(<"${DIR}/qemu.pid")
    if guest_alive "${NAME}"; then
        kill "${pid}" 2>/dev/null || true
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "${pid}" 2>/dev/null || break; sleep 0.5; done
        kill -9 "${pid}" 2>/dev/null || true
    fi
    rm -f "${DIR}/qemu.pid"
}

fail_boot() {
    local first
    first=$(grep -n -m1 'Kernel panic' "${DIR}/console.log" 2>/dev/null | cut -d: -f1 || true)
    if [[ -n "${first}" ]]; then
        log "${NAME}: $1; ${DIR}/console.log from the panic on:"
        tail -n "+$((first > 15 ? first - 15 : 1))" "${DIR}/console.log" | head -n 80 >&2
    else
        log "${NAME}: $1; last lines of ${DIR}/console.log:"
        tail -n 60 "${DIR}/console.log" >&2 2>/dev/null || true
    fi
    kill_guest
    exit 1
}

mkdir -p "${VM_CACHE}"
exec 9>"${VM_CACHE}/boot.lock"
flock 9

ACCEL=$(accel)
if [[ "${ACCEL}" == kvm ]]; then
    ACCEL_ARGS=(-accel kvm -cpu host)
else
    # shellcheck disable=SC2054  # the comma belongs to the -accel value
    ACCEL_ARGS=(-accel tcg,thread=multi -cpu max)
fi

rm -rf "${DIR}"
mkdir -p "${DIR}"
if [[ -n "${BOOTDISK_DIR}" ]]; then
    qemu-img create -q -f qcow2 -b "${BOOTDISK_DIR}/disk.qcow2" -F qcow2 "${DIR}/overlay.qcow2"
else
    qemu-img create -q -f qcow2 -b "${IMAGE_DIR}/rootfs.raw" -F raw "${DIR}/overlay.qcow2"
fi
truncate -s "${SLOW_SWAP_SIZE}" "${DIR}/slowswap.raw"
mkswap -q -L slowswap "${DIR}/slowswap.raw" >/dev/null
MACHINE_ID=$(printf '%s' "policygroups-${NAME}" | md5sum | cut -c1-32)
APPEND="root=/dev/vda rw console=ttyS0 panic=0 systemd.hostname=${HOSTNAME_} systemd.machine_id=${MACHINE_ID}"
APPEND+=" systemd.show_status=error ${EXTRA_APPEND}"
BOOT_ARGS=("${KERNEL_ARGS[@]}" -append "${APPEND}")
[[ -n "${BOOTDISK_DIR}" ]] && BOOT_ARGS=(-boot order=c)

started=""
for _ in 1 2 3; do
    PORT=$(free_port)
    : >"${DIR}/console.log"
    if qemu-system-x86_64 -name "${NAME}" "${ACCEL_ARGS[@]}" -m "${MEM}" -smp "${SMP}" \
        -display none -nodefaults -no-user-config \
        "${BOOT_ARGS[@]}" \
        -drive "file=${DIR}/overlay.qcow2,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
        -drive "file=${DIR}/slowswap.raw,if=virtio,format=raw,cache=unsafe" "${DRIVE_ARGS[@]}" \
        -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${PORT}-:22" \
        -device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
        -serial "file:${DIR}/console.log" -pidfile "${DIR}/qemu.pid" -daemonize \
        2>"${DIR}/qemu.err" 9>&-; then   # the guest must not inherit (and hold) the boot lock
        started=yes
        break
    fi
    grep -q 'hostfwd' "${DIR}/qemu.err" || break   # only a port clash is worth another try
done
[[ -n "${started}" ]] || { cat "${DIR}/qemu.err" >&2; die "${NAME}: QEMU did not start"; }

echo "${PORT}" >"${DIR}/port"
cat >"${DIR}/guest.env" <<ENV
NAME=${NAME}
PORT=${PORT}
PID=$(<"${DIR}/qemu.pid")
ACCEL=${ACCEL}
KERNEL='${KERNEL_LABEL}'
IMAGE_DIR=${IMAGE_DIR}
BOOTDISK_DIR=${BOOTDISK_DIR}
ENV
log "${NAME}: booting ${KERNEL_LABEL} (${ACCEL}, ${MEM} MB, ${SMP} cpu) ssh on 127.0.0.1:${PORT}"

t0=${SECONDS}
key=$(ssh_key)
while :; do
    guest_alive "${NAME}" || fail_boot "QEMU exited during boot"
    if grep -q -e 'Kernel panic' -e 'end Kernel panic' "${DIR}/console.log"; then
        fail_boot "kernel panic during boot"
    fi
    if ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 true 2>/dev/null; then
        break
    fi
    (( SECONDS - t0 < TIMEOUT )) || fail_boot "no SSH after ${TIMEOUT} s (host load: $(cut -d' ' -f1-3 /proc/loadavg))"
    sleep 1
done
log "${NAME}: up in $((SECONDS - t0)) s"
