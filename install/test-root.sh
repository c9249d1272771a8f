#!/usr/bin/env bash
# Prepares the clean Debian 12 root that the package tests (install/src/test, PackageIT) install
# standin's .deb into: debootstrap's minbase, with apt's package lists, kept as one tar file so
# each test run starts from an untouched root in a few seconds. Nothing is installed on the host.
#
# Usage: install/test-root.sh [FILE]    (default /var/cache/standin/test-root/bookworm-minbase.tar)
# Rebuilt when older than a week (apt's lists go stale) or when this script changes. Run as root.
set -euo pipefail

FILE=${1:-/var/cache/standin/test-root/bookworm-minbase.tar}
MIRROR=${STANDIN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
die() { echo "test-root.sh: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "missing debootstrap (apt-get install debootstrap)"

stamp="$(sha256sum "$0" | cut -c1-16)"
if [[ -f "$FILE" && -f "$FILE.stamp" && "$(cat "$FILE.stamp")" == "$stamp" ]] \
        && [[ -n $(find "$FILE" -mtime -7) ]]; then
    exit 0
fi

mkdir -p "$(dirname "$FILE")"
work=$(mktemp -d "$(dirname "$FILE")/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "test-root.sh: debootstrap --variant=minbase bookworm (about a minute)" >&2
debootstrap --variant=minbase bookworm "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }
# apt's lists, so a test's install needs no update; the archive of downloaded .debs stays empty.
cp /etc/resolv.conf "$work/root/etc/resolv.conf"
chroot "$work/root" apt-get -q update >/dev/null || die "apt-get update in the new root failed"
chroot "$work/root" apt-get clean
tar -C "$work/root" -cf "$work/root.tar" .
mv "$work/root.tar" "$FILE"
echo "$stamp" > "$FILE.stamp"
