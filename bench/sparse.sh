#!/usr/bin/env bash
# Sparse images and the page cache: standin against rsync on the same files in one run.
#  1. A sparse 32 GiB image holding 256 MiB of data: first copy and an incremental cycle,
#     standin vs `rsync --sparse --inplace --no-whole-file`; bytes read, allocation, time.
#  2. A 2 GiB image read cold by each tool: how much of it is left in the page cache (fincore);
#     and read with its first half cached already (a guest's data in the host's cache): how much
#     of that half is still cached afterwards.
# Usage: bench/sparse.sh [--workdir DIR] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."

workdir=bench/work/sparse
keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --workdir) workdir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "sparse.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
for tool in rsync fincore /usr/bin/time java dd; do
  command -v "$tool" >/dev/null || { echo "sparse.sh: $tool is missing (run install/setup-debian.sh)" >&2; exit 1; }
done
[ -f agent/target/standin.jar ] || mvn -q -B package -DskipTests
jar=$(pwd)/agent/target/standin.jar
mkdir -p "$workdir"
workdir=$(cd "$workdir" && pwd)
[ "$keep" = 1 ] || trap 'rm -rf "$workdir"' EXIT

timed() { # timed NAME CMD... : prints wall and cpu seconds of CMD into $workdir/NAME.time
  local name=$1; shift
  /usr/bin/time -f '%e %U %S' -o "$workdir/$name.time" "$@" > "$workdir/$name.out" 2> "$workdir/$name.err"
}
wall() { awk '{print $1}' "$workdir/$1.time"; }
cpu() { awk '{printf "%.2f", $2 + $3}' "$workdir/$1.time"; }
allocated() { du --block-size=1 "$1" | cut -f1; }
row() { printf '%-34s %-10s %8s %8s %12s %14s\n' "$@"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
drop() { dd if="$1" iflag=nocache count=0 status=none; } # evicts FILE from the page cache
cached() { fincore --bytes --noheadings --output RES "$1" | tr -d ' '; }
standin() { "$(pwd)/install/standin" "$@"; }

echo "== sparse 32 GiB image holding 256 MiB of data"
img=$workdir/sparse.img
rm -rf "$img" "$workdir"/replica-*.img "$workdir"/.replica-*
truncate -s 32G "$img"
for i in $(seq 0 63); do # 64 extents of 4 MiB, spread over the image
  head -c 4M /dev/urandom | dd of="$img" bs=1M seek=$(( i * 512 + (i * 37) % 500 )) conv=notrunc status=none
done
sync
row case tool "wall s" "cpu s" "read MiB" "allocated MiB"
timed s-first install/standin sync "$img" "$workdir/replica-standin.img" --json
read_first=$(grep -o '"bytesRead":[0-9]*' "$workdir/s-first.out" | cut -d: -f2)
row "first copy" standin "$(wall s-first)" "$(cpu s-first)" "$(mib "$read_first")" "$(mib "$(allocated "$workdir/replica-standin.img")")"
timed r-first rsync --sparse --inplace --no-whole-file "$img" "$workdir/replica-rsync.img"
row "first copy" rsync "$(wall r-first)" "$(cpu r-first)" "-" "$(mib "$(allocated "$workdir/replica-rsync.img")")"
cmp "$img" "$workdir/replica-standin.img" && cmp "$img" "$workdir/replica-rsync.img" || { echo "MISMATCH" >&2; exit 1; }

head -c 1M /dev/urandom | dd of="$img" bs=1M seek=20000 conv=notrunc status=none
timed s-incr install/standin sync "$img" "$workdir/replica-standin.img" --json
read_incr=$(grep -o '"bytesRead":[0-9]*' "$workdir/s-incr.out" | cut -d: -f2)
row "incremental (1 MiB written)" standin "$(wall s-incr)" "$(cpu s-incr)" "$(mib "$read_incr")" "$(mib "$(allocated "$workdir/replica-standin.img")")"
timed r-incr rsync --sparse --inplace --no-whole-file "$img" "$workdir/replica-rsync.img"
row "incremental (1 MiB written)" rsync "$(wall r-incr)" "$(cpu r-incr)" "-" "$(mib "$(allocated "$workdir/replica-rsync.img")")"
cmp "$img" "$workdir/replica-standin.img" && cmp "$img" "$workdir/replica-rsync.img" || { echo "MISMATCH" >&2; exit 1; }
echo "source allocated: $(mib "$(allocated "$img")") MiB; read MiB is what standin reports reading (rsync does not report it: it reads every byte of both files, holes included)"
awk -v s="$(wall s-first)" -v r="$(wall r-first)" -v si="$(wall s-incr)" -v ri="$(wall r-incr)" \
  'BEGIN { printf "ratios: first copy standin/rsync %.3f (%.1fx faster); incremental %.3f (%.1fx faster)\n", s/r, r/s, si/ri, ri/si }'
rm -rf "$img" "$workdir"/replica-*.img "$workdir"/.replica-*

echo
echo "== page cache after reading a 2 GiB image (read cold, fincore afterwards)"
img=$workdir/cache.img
head -c 2G /dev/urandom > "$img"
sync  # dirty pages cannot be dropped: write them back first
printf '%-44s %16s\n' tool "cached MiB after"
for variant in standin standin-keep rsync; do
  rm -rf "$workdir/replica.img" "$workdir/.replica.img".*
  drop "$img"
  case $variant in
    standin) standin sync "$img" "$workdir/replica.img" > /dev/null ;;
    standin-keep) standin sync "$img" "$workdir/replica.img" --no-drop-cache > /dev/null ;;
    rsync) rsync --inplace --no-whole-file "$img" "$workdir/replica.img" ;;
  esac
  label=$variant
  [ "$variant" = standin-keep ] && label="standin --no-drop-cache"
  printf '%-44s %16s\n' "$label" "$(mib "$(cached "$img")")"
done

echo
echo "== page cache after reading a 2 GiB image whose first 1 GiB was cached before"
printf '%-44s %16s\n' tool "cached MiB after"
for variant in standin rsync; do
  rm -rf "$workdir/replica.img" "$workdir/.replica.img".*
  drop "$img"
  dd if="$img" of=/dev/null bs=1M count=1024 status=none
  case $variant in
    standin) standin sync "$img" "$workdir/replica.img" > /dev/null ;;
    rsync) rsync --inplace --no-whole-file "$img" "$workdir/replica.img" ;;
  esac
  printf '%-44s %16s\n' "$variant (1024 MiB cached before)" "$(mib "$(cached "$img")")"
done

