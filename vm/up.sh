#!/usr/bin/env bash
# Boot one test guest and wait until it answers on SSH.
#
#   vm/up.sh NAME KERNEL [--mem MB] [--smp N] [--hostname H] [--append 'ARGS'] [--timeout S]
#            [--drive FILE[:ro]]... [--slow-swap-iops N]
#
# KERNEL is a bzImage path (booted without initramfs: the reference kernel has everything
# built in) or the word "stock" (Debian's kernel and initramfs from the image), both passed
# to QEMU with -kernel; or the word "bootdisk": no -kernel, the guest boots from an overlay of
# the partitioned disk vm/bootdisk.sh builds, through its GRUB (BIOS), whose configuration on
# that disk sets the kernel and its command line (so --append is refused there; --hostname and
# the machine id then come from the disk, not from the command line).
# --numa N gives the guest N NUMA nodes (memory and CPUs split evenly; the tests of policy.numa).
# --slow-swap-iops N limits the slowswap disk to N I/O operations a second (QEMU's throttling), so
# that it is as slow as a real disk next to zram: the experiments' slow tier (experiments/).
# --drive attaches FILE as one more virtio disk (vdc, vdd, ... in order; qcow2 if the name ends
# in .qcow2, else raw; ":ro" read-only).
# The guest boots from a qcow2 overlay of the cached image (the image itself is never written),
# with a second virtio disk formatted as swap and labelled "slowswap". Inside the guest,
# test-swap.service (from vm/guest/) turns on zram0 at priority 100 and slowswap at priority 10.
# SSH is forwarded from a free port on 127.0.0.1 only; the guest has no other network access.
# State lives in .cache/vm/guests/NAME/: qemu.pid, port, console.log, overlay.qcow2, guest.env, qmp.sock,
# qemu.args and reboot-watch.pid (vm/reboot-watch.sh, which starts the machine again when the guest reboots).
#
# Saved states: a guest with a bzImage or "stock" and no --drive starts from a saved, booted state
# (.cache/vm/states/KEY/: a QEMU migration stream and the two disks as they were when it was saved)
# when one fits, in a few seconds instead of a boot; it then takes its own clock, hostname, machine
# id and fresh randomness over SSH. When none fits it boots cold and saves its own state on the way
# (about 2 s). KEY hashes the QEMU version, the command line less the guest's own name, files, port
# and identity, the image and the kernel's (and initramfs') contents. A reboot inside the guest is
# a real boot of the same -kernel with this guest's own command line, in a new QEMU process (QEMU
# runs with -no-reboot; vm/reboot-watch.sh says why; VM_REBOOT=reset lets QEMU reset the machine
# itself, for bench/guest_start.sh). VM_SAVED_STATE=off always boots cold and saves nothing.
# Monitor (QMP) socket: qmp.sock in the guest's directory (vm/qmp.py).
# Every guest's Python keeps the compiled code of Ansible's module payloads (vm/zipcache.py: more
# than a second of every task under emulation); VM_PYCACHE=off leaves it out.
#
# Boots are serialised by a lock: under software emulation one booting guest takes both cores.
# A guest that does not answer within the timeout (default 300 s), panics or exits is reported
# with the tail of its console log and killed. Environment: VM_ACCEL=kvm|tcg skips the probe; VM_CPU sets
# the CPU model under software emulation (default max); VM_PLUGIN='LIB.so,ARG=VALUE' loads a TCG plugin
# into the guest's emulator (bench/swapout/run.sh --insns), and the guest then boots cold.
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

usage() {
    echo "usage: $0 NAME KERNEL|stock|bootdisk [--mem MB] [--smp N] [--numa NODES] [--hostname H] [--append ARGS]" \
        "[--timeout S] [--drive FILE[:ro]]... [--slow-swap-iops N]" >&2
    exit 2
}

[[ $# -ge 2 ]] || usage
NAME=$1 KERNEL=$2
shift 2
MEM=1024 SMP=2 NUMA=1 HOSTNAME_=${NAME} EXTRA_APPEND="" TIMEOUT=${VM_BOOT_TIMEOUT:-300} SLOW_SWAP_SIZE=1G
SLOW_SWAP_IOPS=""
EXTRA_DRIVES=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --mem) MEM=$2; shift 2 ;;
        --smp) SMP=$2; shift 2 ;;
        --numa) NUMA=$2; shift 2 ;;
        --hostname) HOSTNAME_=$2; shift 2 ;;
        --append) EXTRA_APPEND=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        --drive) EXTRA_DRIVES+=("$2"); shift 2 ;;
        --slow-swap-iops) SLOW_SWAP_IOPS=$2; shift 2 ;;
        *) usage ;;
    esac
done
[[ "${NAME}" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$ ]] || die "bad guest name '${NAME}'"
[[ -z "${SLOW_SWAP_IOPS}" || "${SLOW_SWAP_IOPS}" =~ ^[1-9][0-9]{0,5}$ ]] \
    || die "--slow-swap-iops ${SLOW_SWAP_IOPS}: a number of operations a second, 1 to 999999"

IMAGE_DIR=$("${VM_DIR}/image.sh" | tail -n1)
DIR=$(guest_dir "${NAME}")
BOOTDISK_DIR=""
if [[ "${KERNEL}" == bootdisk ]]; then
    [[ -z "${EXTRA_APPEND}" ]] || die "--append cannot reach a guest that boots through GRUB (KERNEL bootdisk)"
    # Resolved before the boot lock is taken: building the disk boots a guest of its own.
    BOOTDISK_DIR=$("${VM_DIR}/bootdisk.sh" | tail -n1)
    [[ -f "${BOOTDISK_DIR}/disk.qcow2" ]] || die "vm/bootdisk.sh printed no disk directory"
fi
# --numa N: N NUMA nodes, the memory and the CPUs split evenly between them (node i: CPUs i*SMP/N and on), one
# socket per node: with QEMU's default topology (one socket, every CPU a core of it) CPUs that share a last-level
# cache sit on different nodes, which the kernel warns about at boot (topology_sane) and schedules oddly.
NUMA_ARGS=()
SMP_ARG=${SMP}
if [[ "${NUMA}" != 1 ]]; then
    if ! [[ "${NUMA}" =~ ^[2-8]$ ]] || (( SMP % NUMA != 0 || MEM % NUMA != 0 )); then
        die "--numa ${NUMA}: 2 to 8 nodes that divide --smp ${SMP} and --mem ${MEM}"
    fi
    SMP_ARG="${SMP},sockets=${NUMA},cores=$((SMP / NUMA)),threads=1"
    for ((node = 0; node < NUMA; node++)); do
        per=$((SMP / NUMA))
        NUMA_ARGS+=(-object "memory-backend-ram,id=mem${node},size=$((MEM / NUMA))M"
                    -numa "node,nodeid=${node},cpus=$((node * per))-$((node * per + per - 1)),memdev=mem${node}")
    done
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
    stop_reboot_watch "${NAME}"
    stop_guest "${NAME}" || true
    rm -f "${DIR}/qemu.pid"
}
# Not running (above), but a reboot watcher left from an earlier guest of this name could be starting its QEMU
# again right now: stop both before this guest's directory is made anew.
kill_guest

# show_console WHY FILE: the console log FILE from its last kernel panic on (panic_excerpt), else its end.
show_console() {
    local excerpt
    excerpt=$(panic_excerpt "$2" 80)
    if [[ -n "${excerpt}" ]]; then
        log "${NAME}: $1; $2 from the panic on:"
        printf '%s\n' "${excerpt}" >&2
    else
        log "${NAME}: $1; last lines of $2:"
        tail -n 60 "$2" >&2 2>/dev/null || true
    fi
}

fail_boot() {
    show_console "$1" "${DIR}/console.log"
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
    # VM_CPU names another CPU model than QEMU's max (docs/testing-vms.md: qemu64 measured against it).
    # shellcheck disable=SC2054  # the comma belongs to the -accel value
    ACCEL_ARGS=(-accel tcg,thread=multi -cpu "${VM_CPU:-max}")
fi
if [[ -n "${VM_PLUGIN:-}" ]]; then
    [[ "${ACCEL}" == tcg ]] || die "VM_PLUGIN needs software emulation (VM_ACCEL=tcg)"
    ACCEL_ARGS+=(-plugin "${VM_PLUGIN}")
fi

# Saved states: a guest booted with -kernel and no --drive starts from a saved, booted state when one fits (a
# QEMU migration stream plus the disks as they were at that instant, under .cache/vm/states/KEY/), else it
# boots cold and its own booted state is saved on the way (a few seconds, paid back by the next such guest).
# KEY hashes everything that shapes the machine: the QEMU version, the command line with the guest's own
# name, files, port and identity left out, the image and the kernel (and initramfs) file contents.
VM_STATES="${VM_CACHE}/states"
SAVED_STATES=${VM_SAVED_STATE:-on}
REBOOT=${VM_REBOOT:-new-process}
[[ "${REBOOT}" == new-process || "${REBOOT}" == reset ]] || die "VM_REBOOT must be new-process or reset"
[[ ${#KERNEL_ARGS[@]} -gt 0 && ${#DRIVE_ARGS[@]} -eq 0 ]] || SAVED_STATES=off
# a plugin observes the guest from its first instruction on, and its arguments name files of one run
[[ -z "${VM_PLUGIN:-}" ]] || SAVED_STATES=off
MACHINE_ID=$(printf '%s' "policygroups-${NAME}" | md5sum | cut -c1-32)
IDENTITY="systemd.hostname=${HOSTNAME_} systemd.machine_id=${MACHINE_ID}"
APPEND_REST="root=/dev/vda rw console=ttyS0 panic=0 systemd.show_status=error ${EXTRA_APPEND}"
BOOT_ARGS=("${KERNEL_ARGS[@]}")
[[ -n "${BOOTDISK_DIR}" ]] && BOOT_ARGS=(-boot order=c)

# qemu_args OVERLAY SWAP PORT IDENTITY: the command line (after -name) of this guest's QEMU.
qemu_args() {
    local append=() slow="file=${2},if=virtio,id=slowswap,format=raw,cache=unsafe"
    [[ ${#KERNEL_ARGS[@]} -gt 0 ]] && append=(-append "${4} ${APPEND_REST}")
    [[ -n "${SLOW_SWAP_IOPS}" ]] && slow+=",throttling.iops-total=${SLOW_SWAP_IOPS}"
    printf '%s\0' "${ACCEL_ARGS[@]}" -m "${MEM}" -smp "${SMP_ARG}" "${NUMA_ARGS[@]}" -display none -nodefaults \
        -no-user-config \
        "${BOOT_ARGS[@]}" "${append[@]}" \
        -drive "file=${1},if=virtio,id=root,format=qcow2,cache=unsafe,discard=unmap" \
        -drive "${slow}" "${DRIVE_ARGS[@]}" \
        -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${3}-:22" \
        -device virtio-net-pci,netdev=n0 -device virtio-rng-pci -device vmgenid,guid=auto
}

state_key() {
    {
        qemu-system-x86_64 --version | head -n1
        qemu_args @overlay @slowswap @port @identity | tr '\0' ' '
        declare -f qemu_args save_state
        printf '\nimage=%s\nslowswap=%s\n' "${IMAGE_DIR##*/}" "${SLOW_SWAP_SIZE}"
        local arg
        for arg in "${KERNEL_ARGS[@]}"; do [[ -f "${arg}" ]] && sha256sum <"${arg}"; done
    } | sha256sum | cut -c1-16
}

qmp() { guest_qmp "${NAME}" "$@"; }

# save_state: pause the guest that just came up, keep its disks as they are now (the root overlay becomes the
# read-only backing file of a new one the guest goes on writing to; the swap disk is copied), write its RAM
# and devices as a migration stream, and let it run on. Nothing here is fatal: the guest is up either way.
save_state() {
    local out="${VM_STATES}/${STATE_KEY}" tmp="${VM_STATES}/.save-${STATE_KEY}-$$" t0=${SECONDS} status="" old
    mkdir -p "${tmp}"
    if qmp stop "blockdev-snapshot-sync={\"device\":\"root\",\"snapshot-file\":\"${DIR}/overlay-live.qcow2\",\"format\":\"qcow2\"}" \
        'migrate-set-parameters={"max-bandwidth":107374182400}' \
        "migrate={\"uri\":\"exec:cat >'${tmp}/vmstate'\"}" >/dev/null \
        && cp --sparse=always "${DIR}/overlay.qcow2" "${tmp}/disk.qcow2" \
        && cp --sparse=always "${DIR}/slowswap.raw" "${tmp}/slowswap.raw"; then
        for _ in $(seq 600); do
            status=$(qmp query-migrate | sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p')
            [[ "${status}" == completed || "${status}" == failed ]] && break
            sleep 0.1
        done
    fi
    qmp cont >/dev/null || log "${NAME}: could not resume the guest after saving its state"
    # The guest writes to overlay-live.qcow2 (over overlay.qcow2) from now on: so must its QEMU after a reboot.
    if [[ -f "${DIR}/overlay-live.qcow2" ]]; then
        local args from="/overlay.qcow2," to="/overlay-live.qcow2,"
        mapfile -d '' args <"${DIR}/qemu.args"
        printf '%s\0' "${args[@]//"${from}"/"${to}"}" >"${DIR}/qemu.args"
    fi
    if [[ "${status}" != completed ]]; then
        log "${NAME}: saving the booted state failed (migration ${status:-not started}); the next guest boots cold"
        rm -rf "${tmp}"
        return 0
    fi
    {
        echo "key: ${STATE_KEY}"
        echo "image: ${IMAGE_DIR##*/}"
        echo "kernel: ${KERNEL_LABEL}"
        echo "machine: ${MEM} MB, ${SMP} cpu, ${NUMA} NUMA node(s), ${ACCEL}, append '${EXTRA_APPEND}'"
        echo "saved: $(date -u +%Y-%m-%dT%H:%M:%SZ) from ${NAME} in $((SECONDS - t0)) s"
    } >"${tmp}/manifest"
    rm -rf "${out}"
    mv "${tmp}" "${out}"
    # Keep the newest few, and none whose image is gone (it can never fit again); never one a guest runs on.
    local n=0
    while IFS= read -r old; do
        old=${old%/manifest}
        n=$((n + 1))
        [[ "${old}" == "${out}" ]] && continue
        grep -qs -F "STATE_DIR=${old}" "${VM_GUESTS}"/*/guest.env && continue
        if (( n > 6 )) || [[ ! -d "${VM_CACHE}/images/$(sed -n 's/^image: //p' "${old}/manifest")" ]]; then
            log "removing saved state ${old##*/}"
            rm -rf --one-file-system "${old}"
        fi
    done < <(ls -1t "${VM_STATES}"/*/manifest 2>/dev/null)
    log "${NAME}: booted state saved in $((SECONDS - t0)) s ($(du -sh --apparent-size "${out}/vmstate" | cut -f1) of RAM and devices)"
}

# adopt_identity: what a restored guest still has of the guest whose state was saved is made its own: the clock
# (stepped to the host's: the saved one stood still), the hostname, the machine id (/etc/machine-id and the
# journal's directory; processes that read it before, PID 1 and journald, keep the saved guest's until the next
# boot), and fresh randomness (vmgenid reseeds the kernel's RNG too). The module bytecode cache is brought in line
# with this checkout in the same connection (install_zipcache, below): under emulation each SSH connection costs
# about 2 s, and this one is all a restored guest needs. ensure_swap is not run again: a state is saved only from
# a guest that passed it, and its swap devices come back as they were.
adopt_identity() {
    ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 bash -s -- \
        "$(head -c 64 /dev/urandom | base64 -w0)" "$(date +%s.%N)" "${HOSTNAME_}" "${MACHINE_ID}" \
        "${VM_PYCACHE:-on}" "$(base64 -w0 <"${VM_DIR}/zipcache.py")" <<'FIXUP' 2>/dev/null
set -e
seed=$1 now=$2 name=$3 id=$4 pycache=$5 zipcache=$6
echo "${seed}" | base64 -d >/dev/urandom
date -u -s "@${now}" >/dev/null
hostname "${name}"
old=$(cat /etc/machine-id)
if [ "${old}" != "${id}" ]; then
    echo "${id}" >/etc/machine-id
    # journald keeps writing to the files it has open; under their directory's new name `journalctl` (which
    # reads the journal of the machine id in /etc/machine-id) finds them. Restarting journald instead took
    # 20 s of a loaded guest and held up every SSH login meanwhile.
    for d in /run/log/journal /var/log/journal; do
        if [ -d "${d}/${old}" ]; then mv "${d}/${old}" "${d}/${id}"; fi
    done
fi
d=/usr/lib/python3/dist-packages
if [ "${pycache}" = off ]; then
    rm -f "${d}/policygroups-test-zipcache.pth"
else
    t=$(mktemp)
    echo "${zipcache}" | base64 -d >"${t}"
    if cmp -s "${t}" "${d}/policygroups_test_zipcache.py"; then rm -f "${t}"
    else chmod 644 "${t}" && mv "${t}" "${d}/policygroups_test_zipcache.py"; fi
    echo "import policygroups_test_zipcache" >"${d}/policygroups-test-zipcache.pth"
fi
FIXUP
}

# start_qemu OVERLAY-BACKING FORMAT INCOMING...: create the guest's disks, start its QEMU (daemonized) on a free
# port, record PORT; returns 1 when QEMU did not start.
start_qemu() {
    local backing=$1 format=$2 started="" args
    shift 2
    rm -rf "${DIR}"
    mkdir -p "${DIR}"
    qemu-img create -q -f qcow2 -b "${backing}" -F "${format}" "${DIR}/overlay.qcow2"
    if [[ -n "${STATE_DIR}" ]]; then
        cp --sparse=always "${STATE_DIR}/slowswap.raw" "${DIR}/slowswap.raw"
    else
        truncate -s "${SLOW_SWAP_SIZE}" "${DIR}/slowswap.raw"
        mkswap -q -L slowswap "${DIR}/slowswap.raw" >/dev/null
    fi
    for _ in 1 2 3; do
        PORT=$(free_port)
        : >"${DIR}/console.log"
        mapfile -d '' args < <(qemu_args "${DIR}/overlay.qcow2" "${DIR}/slowswap.raw" "${PORT}" "${IDENTITY}")
        # A reboot in the guest ends this QEMU (-no-reboot) and vm/reboot-watch.sh starts the machine again
        # with qemu.args (so the console is appended to, not truncated).
        [[ "${REBOOT}" == reset ]] || args+=(-no-reboot)
        args+=(-qmp "unix:${DIR}/qmp.sock,server=on,wait=off"
            -chardev "file,id=console,path=${DIR}/console.log,append=on" -serial chardev:console
            -pidfile "${DIR}/qemu.pid" -daemonize)
        printf '%s\0' "${args[@]}" >"${DIR}/qemu.args"
        if qemu-system-x86_64 -name "${NAME}" "${args[@]}" "$@" \
            2>"${DIR}/qemu.err" 9>&-; then   # the guest must not inherit (and hold) the boot lock
            started=yes
            break
        fi
        grep -q 'hostfwd' "${DIR}/qemu.err" || break   # only a port clash is worth another try
    done
    [[ -n "${started}" ]] || { cat "${DIR}/qemu.err" >&2; return 1; }
    echo "${PORT}" >"${DIR}/port"
    cat >"${DIR}/guest.env" <<ENV
NAME=${NAME}
PORT=${PORT}
PID=$(<"${DIR}/qemu.pid")
ACCEL=${ACCEL}
KERNEL='${KERNEL_LABEL}'
IMAGE_DIR=${IMAGE_DIR}
BOOTDISK_DIR=${BOOTDISK_DIR}
STATE_DIR=${STATE_DIR}
ENV
}

# watch_reboots: start the guest's vm/reboot-watch.sh (in a session of its own, as the daemonised QEMU is).
watch_reboots() {
    [[ "${REBOOT}" == reset ]] && return 0
    setsid "${VM_DIR}/reboot-watch.sh" "${NAME}" </dev/null >>"${DIR}/reboot-watch.log" 2>&1 9>&- &
    echo "$!" >"${DIR}/reboot-watch.pid"
}

ssh_answers() { ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 true 2>/dev/null; }

# elapsed T0 T1: the seconds between two ${EPOCHREALTIME} readings, to a tenth.
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }'; }
# record_start SECONDS restored|cold: one line per guest start in ${VM_CACHE}/starts.log (when, guest, seconds
# from the request to SSH, waits for the boot lock included; how), for the CI run's summary (.ci/speed.py);
# appends of one short line do not mix.
record_start() { printf '%s %s %s %s\n' "$(date +%s)" "${NAME}" "$1" "$2" >>"${VM_CACHE}/starts.log" || true; }

key=$(ssh_key)
t_asked=${EPOCHREALTIME}
STATE_DIR="" STATE_KEY=""
if [[ "${SAVED_STATES}" == on ]]; then
    STATE_KEY=$(state_key)
    [[ -f "${VM_STATES}/${STATE_KEY}/manifest" ]] && STATE_DIR="${VM_STATES}/${STATE_KEY}"
fi

# restore: start from the saved state; 0 when the guest answers on SSH with its own identity. A state that does
# not load, or a guest that does not answer within 30 s, is removed (and saved again by the cold boot after).
restore() {
    local t0=${SECONDS} status="" t_start=${EPOCHREALTIME} t_run
    start_qemu "${STATE_DIR}/disk.qcow2" qcow2 -incoming "exec:cat '${STATE_DIR}/vmstate'" || return 1
    log "${NAME}: restoring ${KERNEL_LABEL} (${ACCEL}, ${MEM} MB, ${SMP} cpu) from ${STATE_DIR##*/}, ssh on 127.0.0.1:${PORT}"
    # The state was saved from a paused guest, so it loads paused ("inmigrate" while loading): resume it, and
    # ask for SSH only once it runs (a connection slirp forwards to a guest still loading is retried late).
    while (( SECONDS - t0 < 30 )); do
        guest_alive "${NAME}" || return 1
        status=$(qmp query-status 2>/dev/null | sed -n 's/.*"status": "\([a-z-]*\)".*/\1/p')
        [[ "${status}" == running ]] && break
        [[ "${status}" == paused ]] && qmp cont >/dev/null
        sleep 0.05
    done
    [[ "${status}" == running ]] || return 1
    t_run=${EPOCHREALTIME}
    while (( SECONDS - t0 < 30 )); do
        guest_alive "${NAME}" || return 1
        if adopt_identity; then   # its first SSH connection is also the probe
            RESTORE_TIMES="loaded in $(elapsed "${t_start}" "${t_run}"),"
            RESTORE_TIMES+=" SSH and identity in $(elapsed "${t_run}" "${EPOCHREALTIME}")"
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# ensure_swap: every test expects both swap devices of test-swap.service (zram0 and the slowswap disk). A unit of
# the guest in an ordering cycle makes systemd drop a job of the cycle at boot, which job varying from boot to boot
# (test-swap.service was in one: guests came up without swap, now and then); such a guest fails here, showing the
# cycle. A start of test-swap.service that failed is shown and tried once more.
ensure_swap() {
    local cycle
    cycle=$(ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 \
        'journalctl -b --no-pager -o cat | grep -i -A6 "found ordering cycle" | head -n 8' 2>/dev/null || true)
    [[ -z "${cycle}" ]] || fail_boot "the guest's units have an ordering cycle; systemd dropped a job to break it: $(tr '\n' ' ' <<<"${cycle}")"
    if ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 'systemctl is-failed --quiet test-swap.service'; then
        log "${NAME}: test-swap.service failed at boot: $(ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 \
            'journalctl -b -u test-swap.service --no-pager -o cat | tail -n 6' 2>/dev/null | tr '\n' ' '); starting it again"
        ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 'systemctl restart test-swap.service' >/dev/null 2>&1 \
            || fail_boot "test-swap.service failed again: the guest has not its swap devices"
    fi
}

# install_zipcache: the guest's Python keeps the compiled code of Ansible's module payloads (vm/zipcache.py: under
# emulation, compiling them again costs more than a second of every task). Installed, or replaced when it differs
# from this checkout's, and its .pth written every time; with VM_PYCACHE=off its .pth is removed, also from a guest
# restored from a state saved with it. A saved state carries it.
install_zipcache() {
    local pth='/usr/lib/python3/dist-packages/policygroups-test-zipcache.pth'
    if [[ "${VM_PYCACHE:-on}" == off ]]; then
        ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 "rm -f ${pth}" \
            || log "${NAME}: could not remove the module bytecode cache"
        return 0
    fi
    # shellcheck disable=SC2016  # expanded in the guest
    ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 'd=/usr/lib/python3/dist-packages
        f=$d/policygroups_test_zipcache.py t=$(mktemp) && cat >"$t" && if cmp -s "$t" "$f"; then rm -f "$t"
        else chmod 644 "$t" && mv "$t" "$f"; fi && echo "import policygroups_test_zipcache" >"$d/policygroups-test-zipcache.pth"' \
        <"${VM_DIR}/zipcache.py" || log "${NAME}: could not install the module bytecode cache (tasks run slower)"
}

if [[ -n "${STATE_DIR}" ]]; then
    if restore; then
        watch_reboots
        up=$(elapsed "${t_asked}" "${EPOCHREALTIME}")
        log "${NAME}: up in ${up} (restored: ${RESTORE_TIMES})"
        record_start "${up% s}" restored
        exit 0
    fi
    tail -n 20 "${DIR}/console.log" "${DIR}/qemu.err" >&2 2>/dev/null || true
    kill_guest
    rm -f "${DIR}/guest.env"
    # A guest restored from it before opens its disk again at its next reboot (a new QEMU process): keep it then,
    # and save nothing over it.
    if grep -qs -F "STATE_DIR=${STATE_DIR}" "${VM_GUESTS}"/*/guest.env; then
        log "${NAME}: the saved state ${STATE_DIR##*/} did not come up; booting cold (another guest runs on it)"
        SAVED_STATES=off
    else
        log "${NAME}: the saved state ${STATE_DIR##*/} did not come up; removing it and booting cold"
        rm -rf --one-file-system "${STATE_DIR}"
    fi
    STATE_DIR=""
fi

# A cold boot of Debian's own kernel (stock, or bootdisk's through GRUB), which no test here is about, is tried a
# second time when it panics before SSH answers: under software emulation it has panicked in early boot, rarely
# and not reproducibly ("Fatal exception in interrupt"), where the same guest boots on the next try. The panic is
# shown and its console kept under .cache/vm/panics/. A panic of any other kernel (the one under test) fails at
# once, but for one: an int3 trap before init runs (emulator_oops in vm/lib.sh). Seen once with the reference
# kernel, in sched_clock's key at "sched_clock: Marking stable"; the same kernel booted at once on the next try,
# as Debian's does. vm/reboot-watch.sh does the same for the boot that follows a guest's reboot.
BOOT_TRIES=1
[[ "${KERNEL}" == stock || "${KERNEL}" == bootdisk ]] && BOOT_TRIES=2
for (( try = 1; try <= BOOT_TRIES; try++ )); do
    if [[ -n "${BOOTDISK_DIR}" ]]; then
        start_qemu "${BOOTDISK_DIR}/disk.qcow2" qcow2 || die "${NAME}: QEMU did not start"
    else
        start_qemu "${IMAGE_DIR}/rootfs.raw" raw || die "${NAME}: QEMU did not start"
    fi
    log "${NAME}: booting ${KERNEL_LABEL} (${ACCEL}, ${MEM} MB, ${SMP} cpu) ssh on 127.0.0.1:${PORT}"
    t0=${SECONDS} panicked=""
    while :; do
        guest_alive "${NAME}" || fail_boot "QEMU exited during boot"
        if grep -q -e 'Kernel panic' -e 'end Kernel panic' "${DIR}/console.log"; then
            (( try == 1 )) && emulator_oops <"${DIR}/console.log" && BOOT_TRIES=2
            (( try < BOOT_TRIES )) || fail_boot "kernel panic during boot"
            panicked=yes
            break
        fi
        ssh_answers && break
        (( SECONDS - t0 < TIMEOUT )) || fail_boot "no SSH after ${TIMEOUT} s (host load: $(cut -d' ' -f1-3 /proc/loadavg))"
        sleep 1
    done
    [[ -n "${panicked}" ]] || break
    mkdir -p "${VM_CACHE}/panics"
    kept="${VM_CACHE}/panics/${NAME}-$(date +%Y%m%d-%H%M%S).log"
    cp "${DIR}/console.log" "${kept}"
    show_console "${KERNEL_LABEL} panicked during boot (try ${try} of ${BOOT_TRIES}; console kept)" "${kept}"
    log "${NAME}: booting it again"
    kill_guest
done
log "${NAME}: up in $((SECONDS - t0)) s"
up=$(elapsed "${t_asked}" "${EPOCHREALTIME}")
record_start "${up% s}" cold
# Wait for start-up to finish (swap on, every unit started): SSH can answer before that, and a state saved then
# would hand every guest restored from it a start-up still under way.
ssh "${SSH_OPTS[@]}" -i "${key}" -p "${PORT}" root@127.0.0.1 'timeout 180 systemctl is-system-running --wait' \
    >/dev/null 2>&1 || true
ensure_swap
install_zipcache
if [[ "${SAVED_STATES}" == on ]]; then
    save_state
fi
watch_reboots
exit 0
