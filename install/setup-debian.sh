#!/usr/bin/env bash
# Installs what standin needs on Debian 12 (or Ubuntu). Idempotent; run as root or with sudo.
#
#   install/setup-debian.sh          what building and testing need (the default; CI runs this)
#   install/setup-debian.sh --list [--demo]   print the packages, install nothing
#   install/setup-debian.sh --demo   only what install/demo.sh needs: a JDK, Maven, libxxhash and
#                                    OpenSSH. Nothing else lands on what may be a hypervisor host:
#                                    no QEMU, no lvm2 (whose monitoring units would be enabled), no
#                                    filesystem tools, no test kernel.
set -euo pipefail

demo_packages=(
  openjdk-17-jdk-headless maven       # build
  libxxhash0                          # the strong block hash (XXH3) at vector speed; rsync needs it too
  openssh-server openssh-client       # the demo's throwaway sshd on 127.0.0.1, and the ssh client
)
test_packages=(
  rsync                               # the benchmark's peer
  util-linux e2fsprogs xfsprogs btrfs-progs  # loop devices, fincore, filesystems for native tests
  time                                # /usr/bin/time for the benchmark
  qemu-system-x86 qemu-utils          # snapshot hooks: a real QEMU VM driven over QMP, qemu-img
  qemu-guest-agent                    # run inside the test guest (from the host's root): guest filesystem freeze
  lvm2 thin-provisioning-tools        # snapshot hooks: lvm (needs device-mapper in the kernel)
  kmod cpio                           # install/test-kernel.sh: a guest kernel with device-mapper
  syslinux syslinux-efi mtools dosfstools   # install/test-image.sh: disks BIOS and UEFI boot, for the failover tests
  ovmf                                # UEFI for QEMU (a launch spec's firmware: uefi)
  debootstrap lintian rpm             # package tests: a clean Debian root (install/test-root.sh), the .deb's lint, rpm -qp
)
# Without their recommends (dnsmasq, firewall tools, a second QEMU): the failover tests start their own
# libvirtd (virtlogd -d, libvirtd -d) and stop it again.
test_packages_bare=(
  libvirt-daemon-system libvirt-clients
)

list=false
if [ "${1:-}" = --list ]; then  # print the profile's packages, one a line, and install nothing
  list=true
  shift
fi
case "${1:-}" in
  --demo) profile=demo; packages=("${demo_packages[@]}"); bare=() ;;
  "") profile=test; packages=("${demo_packages[@]}" "${test_packages[@]}"); bare=("${test_packages_bare[@]}") ;;
  *) echo "setup-debian.sh: unknown option '$1' (use [--list] [--demo])" >&2; exit 2 ;;
esac
if $list; then
  printf '%s\n' "${packages[@]}" "${bare[@]}"
  exit 0
fi

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done
missing_bare=()
for p in "${bare[@]}"; do
  installed "$p" || missing_bare+=("$p")
done
here=$(dirname "$(readlink -f "$0")")

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
if [ ${#missing[@]} -gt 0 ] || [ ${#missing_bare[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    echo "setup-debian.sh: run as root (or install sudo) to install: ${missing[*]} ${missing_bare[*]}" >&2
    exit 1
  fi
  echo "setup-debian.sh: installing ${missing[*]} ${missing_bare[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (unattended-upgrades, a person) may hold the dpkg lock: wait for it, do not fail.
  apt_opts=(-q -o DPkg::Lock::Timeout=600)
  "${sudo_cmd[@]}" apt-get "${apt_opts[@]}" update
  if [ ${#missing[@]} -gt 0 ]; then
    "${sudo_cmd[@]}" apt-get "${apt_opts[@]}" install -y "${missing[@]}"
  fi
  if [ ${#missing_bare[@]} -gt 0 ]; then
    "${sudo_cmd[@]}" apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing_bare[@]}"
  fi
fi
# The LVM tests boot Debian's kernel in QEMU where this kernel has no device-mapper; the failover
# tests boot disks made from it; the package tests install the .deb into a clean Debian root.
if [ "$profile" = test ]; then
  if [ "$(id -u)" -eq 0 ] || command -v sudo >/dev/null; then
    "${sudo_cmd[@]}" "$here/test-kernel.sh"
    "${sudo_cmd[@]}" "$here/test-image.sh"
    "${sudo_cmd[@]}" "$here/test-root.sh"
  else
    echo "setup-debian.sh: not root: the test kernel for the LVM tests (install/test-kernel.sh), the failover tests' disks (install/test-image.sh) and the package tests' Debian root (install/test-root.sh) are not prepared" >&2
  fi
fi
