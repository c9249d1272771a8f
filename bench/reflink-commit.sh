#!/usr/bin/env bash
# What committing by reflink and rename would cost on a large replica (issue 18: a replica that is
# never a mix of two points, even for a reader outside standin). Such a commit clones the replica
# (FICLONE), replays the journal into the clone and renames it over the replica; its extra cost
# over today's in-place replay is the clone. On xfs, standin already clones the replica once per
# cycle for its `clone` recovery points, so the clone is measured as it ages: a 4 GiB replica on
# a loop-mounted xfs (reflink=1), 30 cycles that each clone it (a point, kept) and then overwrite
# 1 % of it in 64 KiB runs, as a cycle's replay does. Prints, per cycle, the clone's time and the
# replica's extent count (the clone's cost is its extent map).
# Usage: bench/reflink-commit.sh [--size-gib N] [--cycles N]   (root: loop device, mount)
set -euo pipefail
cd "$(dirname "$0")/.."

size_gib=4
cycles=30
while [ $# -gt 0 ]; do
  case "$1" in
    --size-gib) size_gib=$2; shift 2 ;;
    --cycles) cycles=$2; shift 2 ;;
    *) echo "reflink-commit.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "reflink-commit.sh: run as root (loop device, mount)" >&2; exit 1; }
for tool in mkfs.xfs losetup filefrag python3 cp; do
  command -v "$tool" >/dev/null || { echo "reflink-commit.sh: $tool is missing (run install/setup-debian.sh)" >&2; exit 1; }
done

work=$(mktemp -d)
device=
cleanup() {
  mountpoint -q "$work/mnt" && umount "$work/mnt"
  [ -n "$device" ] && losetup -d "$device"
  rm -rf "$work"
}
trap cleanup EXIT
truncate -s $((size_gib * 3))G "$work/fs.img"
device=$(losetup --find --show "$work/fs.img")
mkfs.xfs -q -m reflink=1 "$device"
mkdir "$work/mnt"
mount "$device" "$work/mnt"
replica=$work/mnt/replica.img
head -c $((size_gib << 30)) /dev/urandom > "$replica"
sync

printf '%5s %12s %10s\n' cycle clone_ms extents
for ((i = 1; i <= cycles; i++)); do
  start=$(date +%s%N)
  cp --reflink=always "$replica" "$work/mnt/point-$i.img"
  end=$(date +%s%N)
  extents=$(filefrag "$replica" | awk '{print $2}')
  printf '%5d %12.1f %10s\n' "$i" "$(awk -v n=$((end - start)) 'BEGIN { print n / 1e6 }')" "$extents"
  # A cycle's replay: 1 % of the replica rewritten in 64 KiB runs at random offsets, then fsync.
  python3 - "$replica" "$i" <<'PY'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
size = os.path.getsize(path)
rng = random.Random(seed)
block = 64 << 10
fd = os.open(path, os.O_WRONLY)
for _ in range(size // 100 // block):
    os.pwrite(fd, os.urandom(block), rng.randrange(size // block) * block)
os.fsync(fd)
os.close(fd)
PY
done
