#!/usr/bin/env bash
# The standin demo: builds the jar, makes a sample VM disk image (random data, text-like
# data and holes), makes a first copy, changes 1 % of its 4 KiB blocks as a running guest
# would, syncs again, and verifies that the replica is byte-identical to the source.
set -euo pipefail
cd "$(dirname "$0")/.."

install/setup-debian.sh
echo "== building standin"
mvn -q -B package -DskipTests
jar=agent/target/standin.jar
standin() { install/standin "$@"; }

work=${STANDIN_DEMO_DIR:-$(mktemp -d /tmp/standin-demo.XXXXXX)}
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
size_mib=${STANDIN_DEMO_MIB:-1024}

echo "== making a ${size_mib} MiB sample disk image in $work"
img="$work/vm.img"
truncate -s "${size_mib}M" "$img"
# Data in the first 60 %, a hole after it, like a guest filesystem that is partly used.
data_mib=$(( size_mib * 6 / 10 ))
for ((mib = 0; mib < data_mib; mib += 8)); do
  if (( (mib / 8) % 3 == 2 )); then
    { yes "2026-11-21T03:00:00 db01 checkpoint complete: wrote $mib buffers" || true; } | head -c 8M
  else
    head -c 8M /dev/urandom
  fi
done | dd of="$img" conv=notrunc,sparse bs=1M status=none

echo "== first copy"
standin sync "$img" "$work/replica.img" --stats

echo "== a guest writes to 1 % of the blocks"
blocks=$(( size_mib * 256 ))
changed=$(( blocks / 100 ))
for ((i = 0; i < changed; i += 8)); do
  echo $(( (RANDOM * 32768 + RANDOM) % (blocks - 8) ))
done | while read -r block; do
  head -c 32K /dev/urandom | dd of="$img" bs=4096 seek="$block" conv=notrunc status=none
done

echo "== incremental sync: the replica is not read (its signatures are cached), only changed blocks are written"
standin sync "$img" "$work/replica.img" --stats

echo "== verifying"
if cmp -s "$img" "$work/replica.img"; then
  echo "OK: replica is byte-identical to the source ($(sha256sum < "$img" | cut -c1-16)...)"
else
  echo "FAILED: replica differs from the source" >&2
  exit 1
fi
