#!/usr/bin/env bash
# Build (or reuse) the guest image for the test VMs: a minimal Debian trixie root file system
# with systemd, OpenSSH, Python 3, zram/swap tools and Debian's stock cloud kernel, plus that
# kernel and its initramfs extracted next to the image for the "stock" scenario.
#
# The image is cached under .cache/vm/images/<sha256 of its inputs>/ and never modified after
# it is built: guests boot from qcow2 overlays (vm/up.sh). The last line printed is the image
# directory, which holds:
#   rootfs.raw            ext4 root file system (sparse)
#   vmlinuz-stock         Debian's kernel from the image, and
#   initrd-stock          its initramfs
#   kernel-release-stock  its `uname -r`
#   manifest              what went in
#
# Environment: VM_MIRROR overrides the Debian mirror (default: the first Debian archive URI in
# this machine's apt configuration). VM_SUITE overrides the suite (default trixie).
# shellcheck disable=SC2016  # dpkg-query formats are literal
set -euo pipefail
# shellcheck source=vm/lib.sh
source "$(dirname "$0")/lib.sh"

SUITE=${VM_SUITE:-trixie}
# python3-apt: Ansible's apt module (the policy_kernel role installs kernel packages with it) needs it and would
# fetch it from the network, which guests do not reach.
# grub-pc, fdisk and e2fsprogs: vm/bootdisk.sh partitions a disk, copies this file system onto it and installs
# GRUB from inside a guest (whose network reaches nothing).
PACKAGES=(
    systemd-sysv udev dbus openssh-server python3 python3-apt iproute2 procps util-linux kmod
    grub-pc fdisk e2fsprogs
)
KERNEL_PACKAGE=linux-image-cloud-amd64
IMAGE_SIZE=4G

# mirror_from_apt: the URI of the first Debian archive (not -security) entry in apt's config.
mirror_from_apt() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r "${f}" ]] || continue
        awk '
            BEGIN { RS = ""; FS = "\n" }
            {
                types = ""; uris = ""; suites = ""
                for (i = 1; i <= NF; i++) {
                    if ($i ~ /^Types:/) types = $i
                    if ($i ~ /^URIs:/) uris = $i
                    if ($i ~ /^Suites:/) suites = $i
                }
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && suites !~ /-security/) {
                    n = split(uris, u, /[ \t]+/)
                    for (j = 2; j <= n; j++) if (u[j] ~ /\/debian\/?$/) { print u[j]; exit }
                }
            }' "${f}"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r "${f}" ]] || continue
        awk '$1 == "deb" && $0 !~ /-security/ {
                 for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\// && $i ~ /\/debian\/?$/) { print $i; exit }
             }' "${f}"
    done
}

# proxy_from_apt: honour an apt HTTP proxy for debootstrap too.
proxy_from_apt() {
    apt-config shell p Acquire::http::Proxy 2>/dev/null | sed -n "s/^p='\(.*\)'$/\1/p"
}

inputs_hash() {
    {
        printf 'suite=%s\npackages=%s %s\nsize=%s\n' "${SUITE}" "${PACKAGES[*]}" "${KERNEL_PACKAGE}" "${IMAGE_SIZE}"
        declare -f build configure_rootfs in_chroot     # the recipe, not the caching around it
        (cd "${VM_DIR}/guest" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
        cat "${VM_KEY}.pub"
    } | sha256sum | cut -c1-16
}

chroot_mounts=()
cleanup_mounts() {
    local m
    for ((i = ${#chroot_mounts[@]} - 1; i >= 0; i--)); do
        m=${chroot_mounts[i]}
        umount "${m}" 2>/dev/null || umount -l "${m}" 2>/dev/null || true
    done
    chroot_mounts=()
}

in_chroot() {
    local root=$1; shift
    chroot "${root}" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        LANG=C.UTF-8 "$@"
}

configure_rootfs() {
    local root=$1
    echo guest >"${root}/etc/hostname"
    printf '127.0.0.1\tlocalhost\n127.0.1.1\tguest\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
        >"${root}/etc/hosts"
    printf '/dev/vda\t/\text4\trw,relatime,errors=remount-ro\t0\t1\n' >"${root}/etc/fstab"
    cp -a "${VM_DIR}/guest/." "${root}/"
    chown -R root:root "${root}/etc/systemd" "${root}/usr/local/sbin" "${root}/etc/ssh/sshd_config.d"
    install -d -m 700 "${root}/root/.ssh"
    install -m 600 "${VM_KEY}.pub" "${root}/root/.ssh/authorized_keys"
    in_chroot "${root}" systemctl enable --quiet systemd-networkd ssh test-swap.service
    in_chroot "${root}" systemctl set-default --quiet multi-user.target
    local unit
    for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
        e2scrub_reap.service fstrim.timer systemd-networkd-wait-online.service \
        systemd-firstboot.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount; do
        ln -sf /dev/null "${root}/etc/systemd/system/${unit}"
    done
    # A unique machine id per guest comes from the kernel command line (systemd.machine_id=).
    echo 0123456789abcdef0123456789abcdef >"${root}/etc/machine-id"
    in_chroot "${root}" apt-get -qq clean
    rm -rf "${root}/var/lib/apt/lists/"* "${root}/var/log/"*.log
    # What systemd does once after /usr changed (ConditionNeedsUpdate=): the library cache, the journal's
    # message catalog, then the stamps that say both are done. Without them every guest's first boot, each on a
    # fresh overlay of this image, ran ldconfig.service, systemd-journal-catalog-update.service and
    # systemd-update-done.service in the chain that SSH waits for (about 5 s under software emulation).
    in_chroot "${root}" ldconfig
    in_chroot "${root}" journalctl --update-catalog
    in_chroot "${root}" /usr/lib/systemd/systemd-update-done
}

build() {
    local out=$1 tmp=$2 mirror proxy
    mirror=${VM_MIRROR:-$(mirror_from_apt | head -n1)}
    [[ -n "${mirror}" ]] || die "no Debian mirror found in the apt configuration; set VM_MIRROR"
    proxy=$(proxy_from_apt || true)
    [[ -n "${proxy}" ]] && export http_proxy=${proxy}
    local root="${tmp}/rootfs"
    local t0=${SECONDS}
    log "debootstrap ${SUITE} (minbase + ${#PACKAGES[@]} packages), log: ${tmp}/build.log"
    if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
        "${SUITE}" "${root}" "${mirror}" >>"${tmp}/build.log" 2>&1; then
        tail -n 30 "${tmp}/build.log" >&2
        die "debootstrap failed"
    fi
    log "debootstrap done in $((SECONDS - t0)) s; installing ${KERNEL_PACKAGE}"
    trap cleanup_mounts EXIT
    local m
    for m in proc sys dev dev/pts; do
        mount --bind "/${m}" "${root}/${m}"
        chroot_mounts+=("${root}/${m}")
    done
    if ! in_chroot "${root}" apt-get -q -o DPkg::Lock::Timeout=60 install -y --no-install-recommends \
        "${KERNEL_PACKAGE}" >>"${tmp}/build.log" 2>&1; then
        cleanup_mounts
        tail -n 30 "${tmp}/build.log" >&2
        die "installing ${KERNEL_PACKAGE} failed"
    fi
    configure_rootfs "${root}"
    cleanup_mounts
    trap - EXIT

    local vmlinuz initrd release
    vmlinuz=$(find "${root}/boot" -maxdepth 1 -name 'vmlinuz-*' | sort -V | tail -n1)
    [[ -n "${vmlinuz}" ]] || die "no kernel in ${root}/boot"
    release=${vmlinuz##*/vmlinuz-}
    initrd="${root}/boot/initrd.img-${release}"
    [[ -f "${initrd}" ]] || die "no initramfs for ${release}"
    cp "${vmlinuz}" "${tmp}/vmlinuz-stock"
    cp "${initrd}" "${tmp}/initrd-stock"
    echo "${release}" >"${tmp}/kernel-release-stock"

    log "making ext4 image (${IMAGE_SIZE}, sparse)"
    truncate -s "${IMAGE_SIZE}" "${tmp}/rootfs.raw"
    mkfs.ext4 -q -F -L root -d "${root}" "${tmp}/rootfs.raw"
    {
        echo "suite: ${SUITE}"
        echo "packages: ${PACKAGES[*]} ${KERNEL_PACKAGE}"
        echo "stock_kernel: ${release}"
        echo "systemd: $(in_chroot "${root}" dpkg-query -W -f='${Version}' systemd)"
        echo "python3: $(in_chroot "${root}" dpkg-query -W -f='${Version}' python3)"
        echo "openssh: $(in_chroot "${root}" dpkg-query -W -f='${Version}' openssh-server)"
        echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) in $((SECONDS - t0)) s"
    } >"${tmp}/manifest"
    if findmnt -rn -o TARGET | grep -q -F "${root}/"; then
        die "something is still mounted under ${root}; not removing it"
    fi
    rm -rf --one-file-system "${root}"
    mv "${tmp}" "${out}"
    log "image ready in $((SECONDS - t0)) s"
}

main() {
    [[ ${EUID} -eq 0 ]] || die "building the image needs root (debootstrap, chroot)"
    ensure_packages qemu-system-x86 qemu-utils debootstrap e2fsprogs openssh-client util-linux \
        debian-archive-keyring
    ssh_key >/dev/null
    cached_build images "$(inputs_hash)" build IMAGE_DIR
}

main "$@"
