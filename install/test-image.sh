#!/usr/bin/env bash
# Builds the bootable disks that standin's failover and boot-check tests replicate and start: raw
# 32 MiB images a BIOS boots on its own (a FAT filesystem with SYSLINUX in its boot sector, no
# partition table), holding Debian's kernel from install/test-kernel.sh and a busybox initramfs.
# The guest prints a login prompt on its serial console (getty), like an installed system.
#
#   agent.img   also runs the QEMU guest agent (Debian's qemu-ga) on its virtio-serial port, which
#               powers the guest off when asked (guest-shutdown)
#   plain.img   no guest agent: only the console can tell that it came up
#   panic.img   the kernel panics as soon as userspace starts (sysrq crash; pvpanic reports it)
#
# Usage: install/test-image.sh [DIR]    (default /var/cache/standin/test-image)
# Leaves DIR/{agent,plain,panic}.img and DIR/version; does nothing when they are up to date.
# Run as root (it prepares the test kernel). Needs syslinux, syslinux-efi, mtools, dosfstools,
# qemu-guest-agent.
set -euo pipefail

DIR=${1:-/var/cache/standin/test-image}
KERNEL_DIR=/var/cache/standin/test-kernel
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "test-image.sh: $*" >&2; exit 1; }

for tool in syslinux mcopy mkfs.fat cpio gzip ldd; do
    command -v "$tool" >/dev/null || die "missing $tool (apt-get install syslinux mtools dosfstools cpio)"
done
[[ -x /usr/sbin/qemu-ga ]] || die "missing /usr/sbin/qemu-ga (apt-get install qemu-guest-agent)"
efi=/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi
ldlinux=/usr/lib/syslinux/modules/efi64/ldlinux.e64
[[ -f $efi && -f $ldlinux ]] || die "missing $efi (apt-get install syslinux-efi)"
"$here/test-kernel.sh" "$KERNEL_DIR"

# Rebuilt when the kernel, the guest agent or this script changes.
stamp="$(cat "$KERNEL_DIR/version") $(sha256sum "$0" /usr/sbin/qemu-ga | cut -c1-16 | tr '\n' ' ')"
if [[ -f "$DIR/version" && "$(cat "$DIR/version")" == "$stamp" ]] \
        && [[ -f "$DIR/agent.img" && -f "$DIR/plain.img" && -f "$DIR/panic.img" ]]; then
    exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"
# The test kernel's initramfs already holds busybox and the virtio and pvpanic modules; its /init
# (which mounts the host over 9p) is replaced by one that needs nothing outside the disk.
( cd "$root" && zcat "$KERNEL_DIR/initramfs.gz" | cpio -id --quiet )
rm -f "$root/init"

# qemu-ga and the libraries it links, at the paths the dynamic loader looks in.
copy() { mkdir -p "$root$(dirname "$1")" && cp -L "$1" "$root$1"; }
copy /usr/sbin/qemu-ga
for lib in $(ldd /usr/sbin/qemu-ga | grep -o '/[^ ]*'); do copy "$lib"; done
mkdir -p "$root/etc"
cat > "$root/etc/os-release" <<'OS'
NAME="standin test guest"
ID=standin-test
VERSION_ID=1
PRETTY_NAME="standin test guest 1"
OS
echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
# What qemu-ga runs for guest-shutdown (virsh shutdown --mode agent): a clean power-off.
mkdir -p "$root/sbin"
printf '#!/bin/sh\nsync\nexec poweroff -f\n' > "$root/sbin/shutdown"
chmod 755 "$root/sbin/shutdown"
echo "standin test guest \\l" > "$root/etc/issue"

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
# standin's test guest. standin.guest= on the kernel's command line says which: agent, plain, panic.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/sbin
mkdir -p /proc /sys /dev /run /var /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -s /run /var/run
for m in virtio_pci virtio_blk virtio_console pvpanic-pci; do
    modprobe "$m" 2>/dev/null
done
guest=$(sed -n 's/.*standin\.guest=\([a-z]*\).*/\1/p' /proc/cmdline)
hostname standin-guest
echo "standin test guest ($guest) is up"
if [ "$guest" = panic ]; then
    echo 1 > /proc/sys/kernel/sysrq
    echo c > /proc/sysrq-trigger
fi
if [ "$guest" = agent ]; then
    # No udev here: find the port by the name QEMU gave it.
    for port in /sys/class/virtio-ports/*; do
        if [ "$(cat "$port/name" 2>/dev/null)" = org.qemu.guest_agent.0 ]; then
            qemu-ga -m virtio-serial -p "/dev/$(basename "$port")" -f /run/qemu-ga.pid -d \
                || echo "init: qemu-ga did not start"
        fi
    done
fi
while true; do
    getty -L 115200 ttyS0 vt100
done &
while true; do
    sleep 3600
done
INIT
chmod 755 "$root/init"
( cd "$root" && find . | cpio -o -H newc --quiet ) | gzip -1 > "$work/initrd.gz"

mkdir -p "$DIR"
export MTOOLS_SKIP_CHECK=1
for guest in agent plain panic; do
    image=$work/$guest.img
    mkfs.fat -C -n STANDIN "$image" 32768 >/dev/null
    syslinux --install "$image"
    cat > "$work/syslinux.cfg" <<CFG
SERIAL 0 115200
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0,115200 panic=0 standin.guest=$guest
CFG
    mcopy -i "$image" "$KERNEL_DIR/vmlinuz" ::vmlinuz
    mcopy -i "$image" "$work/initrd.gz" ::initrd.gz
    mcopy -i "$image" "$work/syslinux.cfg" ::syslinux.cfg
    # UEFI's removable-media path; syslinux.efi reads its configuration beside itself.
    mmd -i "$image" ::EFI ::EFI/BOOT
    mcopy -i "$image" "$efi" ::EFI/BOOT/BOOTX64.EFI
    mcopy -i "$image" "$ldlinux" ::EFI/BOOT/ldlinux.e64
    mcopy -i "$image" "$work/syslinux.cfg" ::EFI/BOOT/syslinux.cfg
    mv "$image" "$DIR/$guest.img"
done
echo "$stamp" > "$DIR/version"
echo "test-image.sh: agent.img, plain.img and panic.img ready in $DIR" >&2
