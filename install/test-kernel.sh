#!/usr/bin/env bash
# Prepares the kernel that standin's guest tests boot: the device-mapper tests where the host's own
# kernel has none (containers, microVMs), the guest-agent freeze test (virtio disk, ext4,
# virtio-serial) and the bootable disks of install/test-image.sh (pvpanic). Debian's stock kernel
# and a tiny initramfs that mounts the host's root filesystem read-only over virtio-9p and runs
# one command from the test's work directory. Nothing is installed into the host's /boot or
# /lib/modules.
#
# Usage: install/test-kernel.sh [DIR]    (default /var/cache/standin/test-kernel)
# Leaves DIR/vmlinuz, DIR/initramfs.gz and DIR/version; does nothing when they are up to date.
# Run as root (apt-get download, depmod). Idempotent.
set -euo pipefail

DIR=${1:-/var/cache/standin/test-kernel}
die() { echo "test-kernel.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root"
for tool in apt-get apt-cache dpkg-deb depmod cpio gzip; do
    command -v "$tool" >/dev/null || die "missing $tool (apt-get install kmod cpio)"
done

# The image package that linux-image-amd64 points at today, e.g. linux-image-6.1.0-56-amd64.
package=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -1)
[[ -n "$package" ]] || die "apt-cache knows no linux-image-amd64 (run apt-get update)"
version=${package#linux-image-}
# Rebuilt when the kernel or this script (its /init) changes.
stamp="$version $(sha256sum "$0" | cut -c1-16)"
if [[ -f "$DIR/version" && "$(cat "$DIR/version")" == "$stamp" && -f "$DIR/vmlinuz" && -f "$DIR/initramfs.gz" ]]; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
chmod 755 "$work"   # apt's download user must be able to write here
apt-get download -q "$package" busybox-static >/dev/null 2>&1 \
    || { apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null && apt-get download -q "$package" busybox-static >/dev/null; } \
    || die "cannot download $package and busybox-static"
dpkg-deb -x linux-image-*.deb kernel
dpkg-deb -x busybox-static_*.deb busybox
depmod -b kernel "$version"

# The initramfs: busybox, the modules its /init loads (with their dependencies), and /init.
# crc32c_generic: libcrc32c (for dm-thin-pool) finds its crc32c through the crypto API, not modules.dep.
modules=(virtio_pci 9pnet_virtio 9p loop crc32c_generic dm-mod dm-snapshot dm-thin-pool virtio_blk virtio_console ext4 pvpanic-pci)
root=initramfs
mkdir -p "$root/bin" "$root/lib/modules/$version"
cp busybox/bin/busybox "$root/bin/busybox"
dep="kernel/lib/modules/$version/modules.dep"
declare -A wanted=()
add() { # add MODULE_PATH: the module and, recursively, what it depends on
    [[ -n "${wanted[$1]:-}" ]] && return
    wanted[$1]=1
    local deps
    deps=$(sed -n "s|^$1: *||p" "$dep")
    for d in $deps; do add "$d"; done
}
for m in "${modules[@]}"; do
    path=$(grep -E "/${m}\.ko(\.[a-z]+)?:" "$dep" | head -1 | cut -d: -f1)
    [[ -n "$path" ]] || die "module $m is not in $package"
    add "$path"
done
for path in "${!wanted[@]}"; do
    mkdir -p "$root/lib/modules/$version/$(dirname "$path")"
    cp "kernel/lib/modules/$version/$path" "$root/lib/modules/$version/$path"
done
cp kernel/lib/modules/"$version"/modules.{order,builtin,builtin.modinfo} "$root/lib/modules/$version/"
depmod -b "$root" "$version"

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
# The standin test guest: the host's root filesystem (read-only, 9p tag hostroot) becomes this
# guest's root, with tmpfs where programs write, and the test's work directory (9p tag work,
# writable) at its own path. Runs WORK/guest-run.sh, leaves its output in WORK/guest.log and its
# exit status in WORK/guest.exit, and powers off.
bb=/bin/busybox
$bb mkdir -p /proc /sys /dev /newroot
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs devtmpfs /dev
for m in MODULES; do
    $bb modprobe "$m" || echo "init: cannot load $m" > /dev/console
done
work=$($bb sed -n 's/.*standin\.work=\([^ ]*\).*/\1/p' /proc/cmdline)
$bb mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /newroot \
    || { echo "init: cannot mount the host's root over 9p" > /dev/console; $bb poweroff -f; }
# Not /tmp: the host's /tmp may hold what the guest runs (a checkout, a build); programs in the
# guest write temporary files under /run/tmp (TMPDIR, java.io.tmpdir) instead.
for d in run var/tmp var/lock; do
    [ -d "/newroot/$d" ] && $bb mount -t tmpfs tmpfs "/newroot/$d"
done
$bb mkdir -p /newroot/run/tmp && $bb chmod 1777 /newroot/run/tmp
# LVM writes metadata backups under /etc/lvm: a writable copy of the host's.
$bb mkdir -p /etc-lvm && $bb cp -a /newroot/etc/lvm/. /etc-lvm/ 2>/dev/null
$bb mount -t tmpfs tmpfs /newroot/etc/lvm && $bb cp -a /etc-lvm/. /newroot/etc/lvm/
$bb mount -t 9p -o trans=virtio,version=9p2000.L,msize=524288 work "/newroot$work" \
    || { echo "init: cannot mount the work directory $work" > /dev/console; $bb poweroff -f; }
$bb mount --move /dev /newroot/dev
$bb mount --move /sys /newroot/sys
$bb mount --move /proc /newroot/proc
$bb mkdir -p /newroot/dev/shm && $bb mount -t tmpfs tmpfs /newroot/dev/shm
exec $bb switch_root /newroot /bin/sh -c \
    "cd '$work'; TMPDIR=/run/tmp /bin/sh '$work/guest-run.sh' > '$work/guest.log' 2>&1; echo \$? > '$work/guest.exit'; sync; echo o > /proc/sysrq-trigger; sleep 60"
INIT
sed -i "s/MODULES/${modules[*]}/" "$root/init"
chmod 755 "$root/init"

mkdir -p "$DIR"
( cd "$root" && find . | cpio -o -H newc --quiet ) | gzip -1 > "$DIR/initramfs.gz.tmp"
cp "kernel/boot/vmlinuz-$version" "$DIR/vmlinuz.tmp"
mv "$DIR/initramfs.gz.tmp" "$DIR/initramfs.gz"
mv "$DIR/vmlinuz.tmp" "$DIR/vmlinuz"
echo "$stamp" > "$DIR/version"
echo "test-kernel.sh: $package ready in $DIR" >&2
