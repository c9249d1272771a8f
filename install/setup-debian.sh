#!/usr/bin/env bash
# Installs what building, testing and demonstrating standin needs on Debian 12 (or Ubuntu):
# JDK 17, Maven, and the real tools the tests talk to. Idempotent; run as root or with sudo.
set -euo pipefail

packages=(
  openjdk-17-jdk-headless maven       # build
  rsync                               # the benchmark's peer
  libxxhash0                          # the strong block hash (XXH3) at vector speed; rsync needs it too
  openssh-server openssh-client       # end-to-end tests over a real sshd
  util-linux e2fsprogs xfsprogs btrfs-progs  # loop devices, fincore, filesystems for native tests
  time                                # /usr/bin/time for the benchmark
  qemu-system-x86 qemu-utils          # snapshot hooks: a real QEMU VM driven over QMP, qemu-img
  lvm2 thin-provisioning-tools        # snapshot hooks: lvm (needs device-mapper in the kernel)
  kmod cpio                           # install/test-kernel.sh: a guest kernel with device-mapper
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
here=$(dirname "$(readlink -f "$0")")
if [ ${#missing[@]} -eq 0 ]; then
  # Where this kernel has no device-mapper, the LVM tests boot Debian's kernel in QEMU.
  if [ "$(id -u)" -eq 0 ]; then "$here/test-kernel.sh"; fi
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-debian.sh: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "setup-debian.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
if [ "$(id -u)" -eq 0 ]; then "$here/test-kernel.sh"; else sudo "$here/test-kernel.sh"; fi
