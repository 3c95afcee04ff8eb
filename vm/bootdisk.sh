#!/usr/bin/env bash
# Build (or reuse) a bootable test disk: the guest image's root file system (vm/image.sh) on an
# MBR-partitioned disk with GRUB for BIOS (i386-pc) in its boot sector, booting Debian's stock
# kernel with its initramfs. `vm/up.sh NAME bootdisk` boots a guest from an overlay of it with
# no -kernel, so what the guest boots is what GRUB's configuration on the disk says: the path a
# real Debian host takes, and the one the policy_kernel role changes.
#
# Built without loop devices on this machine: a builder guest starts with the stock kernel
# (vm/up.sh: from the stock guest's booted state when one fits, as the stock scenario leaves it,
# else it boots), gets the image read-only and a blank qcow2 plugged in as two more disks (QMP,
# found in the guest by their serial numbers), and there partitions the blank disk (one primary ext4
# partition from 1 MiB, bootable), copies the image's file system onto it, writes /etc/fstab (root
# by UUID, resolved by systemd) and a GRUB drop-in for a serial console, runs grub-install and
# update-grub in a chroot, and powers off.
# The disk is then checked (qemu-img check) and its first sector must carry GRUB.
#
# Cached under .cache/vm/bootdisks/<sha256 of the image directory and this recipe>/, never
# modified after it is built (guests boot from overlays). The last line printed is that
# directory, which holds:
#   disk.qcow2   the disk (one partition, ext4, GRUB in the MBR and the post-MBR gap)
#   manifest     image, stock kernel, GRUB version, the partition's UUID and PARTUUID, build time
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

DISK_SIZE=5G
BUILDER=bootdisk-builder

# guest_recipe: the script the builder guest runs as root (bash -s). Source disk, target disk: paths
# that may be links (/dev/disk/by-id/...), waited for while udev names the disks just plugged in.
guest_recipe() {
    cat <<'RECIPE'
set -euo pipefail
for _ in $(seq 60); do [[ -b "$1" && -b "$2" ]] && break; udevadm settle; sleep 0.5; done
[[ -b "$1" && -b "$2" ]] || { echo "bootdisk: no $1 or $2" >&2; exit 1; }
src=$(readlink -f "$1") dst=$(readlink -f "$2")
if blkid -p "${dst}" >/dev/null 2>&1; then echo "bootdisk: ${dst} is not blank" >&2; exit 1; fi
printf 'label: dos\nstart=2048, type=83, bootable\n' | sfdisk --quiet "${dst}"
udevadm settle
part=${dst}1
[[ -b "${part}" ]] || { echo "bootdisk: no ${part} after partitioning" >&2; exit 1; }
mkfs.ext4 -q -L root "${part}"
udevadm settle   # update-grub looks the file system up in /dev/disk/by-uuid
mkdir -p /mnt/src /mnt/dst
mount -o ro,noload "${src}" /mnt/src
mount "${part}" /mnt/dst
cp -a /mnt/src/. /mnt/dst/
umount /mnt/src
uuid=$(blkid -s UUID -o value "${part}")
partuuid=$(blkid -s PARTUUID -o value "${part}")
printf 'UUID=%s\t/\text4\trw,relatime,errors=remount-ro\t0\t1\n' "${uuid}" >/mnt/dst/etc/fstab
install -d /mnt/dst/etc/default/grub.d
cat >/mnt/dst/etc/default/grub.d/10-test-vm.cfg <<'GRUB'
# Test guest: GRUB and the kernel talk on the serial port (QEMU writes it to console.log); a
# kernel panic stops there instead of rebooting into the same entry again.
GRUB_TIMEOUT=1
GRUB_TERMINAL=serial
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0 panic=0 systemd.show_status=error"
GRUB
mounts=()
for m in dev dev/pts proc sys; do
    mount --bind "/${m}" "/mnt/dst/${m}"
    mounts=("/mnt/dst/${m}" "${mounts[@]}")
done
chroot /mnt/dst grub-install --target=i386-pc "${dst}" 2>&1
chroot /mnt/dst update-grub 2>&1
grep -q "root=UUID=${uuid}" /mnt/dst/boot/grub/grub.cfg || { echo "bootdisk: grub.cfg has no root=UUID=${uuid}" >&2; exit 1; }
echo "grub: $(chroot /mnt/dst dpkg-query -W -f='${Version}' grub-pc)"
echo "stock_kernel: $(ls /mnt/dst/boot | sed -n 's/^vmlinuz-//p' | sort -V | tail -n1)"
umount "${mounts[@]}"
umount /mnt/dst
sync
echo "uuid: ${uuid}"
echo "partuuid: ${partuuid}"
RECIPE
}

inputs_hash() {
    {
        printf 'image=%s\nsize=%s\n' "${IMAGE_DIR##*/}" "${DISK_SIZE}"
        declare -f guest_recipe build
    } | sha256sum | cut -c1-16
}

stop_builder() { "${VM_DIR}/down.sh" "${BUILDER}" >/dev/null 2>&1 || true; }

build() {
    local out=$1 tmp=$2 t0=${SECONDS} pid
    qemu-img create -q -f qcow2 "${tmp}/disk.qcow2" "${DISK_SIZE}"
    trap stop_builder EXIT
    # The stock scenario's machine (768 MB), so that the builder starts from its booted state: a drive on
    # the command line would rule a saved state out, so the two disks are plugged in once it runs.
    "${VM_DIR}/up.sh" "${BUILDER}" stock --mem 768 {CACHED_BUILD_LOCK}>&-  # QEMU must not hold it
    guest_qmp "${BUILDER}" \
        "blockdev-add={\"driver\":\"raw\",\"node-name\":\"bootsrc\",\"read-only\":true,\"file\":{\"driver\":\"file\",\"filename\":\"${IMAGE_DIR}/rootfs.raw\",\"read-only\":true}}" \
        'device_add={"driver":"virtio-blk-pci","drive":"bootsrc","id":"bootsrc","serial":"pg-bootsrc"}' \
        "blockdev-add={\"driver\":\"qcow2\",\"node-name\":\"bootdst\",\"file\":{\"driver\":\"file\",\"filename\":\"${tmp}/disk.qcow2\"}}" \
        'device_add={"driver":"virtio-blk-pci","drive":"bootdst","id":"bootdst","serial":"pg-bootdst"}' >/dev/null \
        || die "could not plug the image and the new disk into the builder"
    log "partitioning, copying the root file system, installing GRUB (log: ${tmp}/build.log)"
    if ! guest_recipe | "${VM_DIR}/ssh.sh" "${BUILDER}" bash -s /dev/disk/by-id/virtio-pg-bootsrc \
        /dev/disk/by-id/virtio-pg-bootdst >"${tmp}/build.log" 2>&1; then
        tail -n 30 "${tmp}/build.log" >&2
        die "building the disk in the guest failed"
    fi
    # Power off from inside, so QEMU closes the qcow2 cleanly; TERM (which QEMU also handles
    # cleanly) only if it does not exit in time. A timer's default accuracy is a minute: it fired
    # up to that late.
    pid=$(<"$(guest_dir "${BUILDER}")/qemu.pid")
    "${VM_DIR}/ssh.sh" "${BUILDER}" \
        'systemd-run --on-active=1 --timer-property=AccuracySec=100ms systemctl poweroff' >/dev/null 2>&1 || true
    for _ in $(seq 120); do kill -0 "${pid}" 2>/dev/null || break; sleep 1; done
    stop_builder
    trap - EXIT
    qemu-img check -q "${tmp}/disk.qcow2" || die "the new disk's qcow2 is damaged"
    # The MBR must now hold GRUB's boot.img (it names itself) and the boot signature.
    local mbr
    qemu-img dd -f qcow2 -O raw if="${tmp}/disk.qcow2" of="${tmp}/mbr" bs=512 count=1
    mbr=$(od -An -c "${tmp}/mbr" | tr -d ' \n')
    rm -f "${tmp}/mbr"
    [[ "${mbr}" == *GRUB* && "${mbr}" == *'U252' ]] || die "no GRUB boot sector on the new disk"
    {
        echo "image: ${IMAGE_DIR##*/}"
        grep -E '^(grub|stock_kernel|uuid|partuuid): ' "${tmp}/build.log"
        echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - t0)) s"
    } >"${tmp}/manifest"
    mv "${tmp}" "${out}"
    log "boot disk ready in $((SECONDS - t0)) s"
}

main() {
    ensure_packages qemu-utils
    IMAGE_DIR=$("${VM_DIR}/image.sh" | tail -n1)
    cached_build bootdisks "$(inputs_hash)" build BOOTDISK_DIR
}

main "$@"
