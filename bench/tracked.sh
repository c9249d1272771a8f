#!/usr/bin/env bash
# Benchmark: a cycle through QEMU dirty-bitmap tracking against a full scan and rsync, for two disk
# sizes with the same amount of change, on a real running QEMU VM (no OS; the test writes to its
# drive through HMP qemu-io, as a guest would). Then the same disk as qcow2: the view is read
# through QEMU's NBD export (first copy and tracked cycle), against rsync of the qcow2 file.
# Usage: bench/tracked.sh [--sizes "2G 4G"] [--change-mib 41] [--workdir DIR]
# Needs: agent/target/standin.jar (mvn -q package -DskipTests), qemu-system-x86, qemu-utils, rsync.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
JAR="$ROOT/agent/target/standin.jar"
SIZES="2G 4G"
CHANGE_MIB=41          # 1 % of 4 GiB
WORK="$BENCH_DIR/work-tracked"
VERBOSE_LOG=${VERBOSE_LOG:-/tmp/standin-tracked-bench.log}   # standin -v phase timings
CHUNK=65536

while [[ $# -gt 0 ]]; do
    case "$1" in
        --sizes) SIZES=$2; shift 2 ;;
        --change-mib) CHANGE_MIB=$2; shift 2 ;;
        --workdir) WORK=$2; shift 2 ;;
        *) echo "tracked.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -f "$JAR" ]] || { echo "tracked.sh: build first: mvn -q package -DskipTests" >&2; exit 1; }
for t in qemu-system-x86_64 qemu-img rsync; do command -v "$t" >/dev/null || { echo "tracked.sh: needs $t" >&2; exit 1; }; done

STANDIN=("$ROOT/install/standin")
COUNT=$(( CHANGE_MIB * 1048576 / CHUNK ))
mkdir -p "$WORK"
: > "$VERBOSE_LOG"
QEMU_PID=
cleanup() { [[ -n "$QEMU_PID" ]] && kill "$QEMU_PID" 2>/dev/null || true; }
trap cleanup EXIT

seconds() { # runs "$@", prints wall seconds; output of the command to $WORK/last.out
    local start end
    start=$(date +%s.%N)
    "$@" > "$WORK/last.out" 2>> "$VERBOSE_LOG"
    end=$(date +%s.%N)
    awk -v s="$start" -v e="$end" 'BEGIN { printf "%.2f", e - s }'
}
json() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$WORK/last.out" | tr -d '"'; }

printf "%-6s %-28s %9s %14s %s\n" size case seconds "source read" tracking
for size in $SIZES; do
    rm -rf "${WORK:?}"/* "${WORK:?}"/.[!.]*   # side files (points, caches) of the last size too
    img="$WORK/vm.raw"; state="$WORK/state"; mkdir -p "$state"
    qemu-img create -q -f raw "$img" "$size"
    bytes=$(stat -c %s "$img")
    # Fill with incompressible data so that nothing is a hole and every path really reads.
    head -c "$bytes" /dev/urandom > "$img"
    qemu-system-x86_64 -machine q35,accel=kvm:tcg -m 64 -nodefaults -display none -no-user-config \
        -qmp "unix:$WORK/vm.qmp,server=on,wait=off" -qmp "unix:$WORK/test.qmp,server=on,wait=off" \
        -blockdev "driver=file,filename=$img,node-name=disk0-file" -blockdev driver=raw,file=disk0-file,node-name=disk0 \
        -device virtio-blk-pci,drive=disk0,id=vd0 > "$WORK/qemu.log" 2>&1 &
    QEMU_PID=$!
    for _ in $(seq 100); do [[ -S "$WORK/test.qmp" ]] && break; sleep 0.1; done
    snap="qemu:$WORK/vm.qmp:disk0"
    # Base point: the tracked replica arms its bitmap; two more copies for the full scan and rsync.
    "${STANDIN[@]}" sync "$img" "$WORK/tracked.img" --snapshot "$snap" --state-dir "$state" --json > /dev/null
    cp --sparse=never "$WORK/tracked.img" "$WORK/full.img"
    cp "$WORK/tracked.img" "$WORK/rsync.img"
    "${STANDIN[@]}" sync "$img" "$WORK/full.img" --state-dir "$state" --json > /dev/null   # its signature cache
    java -cp "$JAR" "$BENCH_DIR/GuestWrites.java" "$WORK/test.qmp" "$bytes" "$COUNT" "$CHUNK" 7
    echo "== $size tracked" >> "$VERBOSE_LOG"
    t=$(seconds "${STANDIN[@]}" sync "$img" "$WORK/tracked.img" --snapshot "$snap" --state-dir "$state" --json -v)
    printf "%-6s %-28s %9s %14s %s\n" "$size" "standin --snapshot (tracked)" "$t" "$(json sourceBytesRead)" "$(json tracking)"
    echo "== $size tracked, nothing changed" >> "$VERBOSE_LOG"
    t=$(seconds "${STANDIN[@]}" sync "$img" "$WORK/tracked.img" --snapshot "$snap" --state-dir "$state" --json -v)
    printf "%-6s %-28s %9s %14s %s\n" "$size" "same, nothing changed" "$t" "$(json sourceBytesRead)" "$(json tracking)"
    echo "== $size full scan" >> "$VERBOSE_LOG"
    t=$(seconds "${STANDIN[@]}" sync "$img" "$WORK/full.img" --state-dir "$state" --json -v)
    printf "%-6s %-28s %9s %14s %s\n" "$size" "standin full scan (cache)" "$t" "$(json sourceBytesRead)" "-"
    t=$(seconds rsync --inplace --no-whole-file "$img" "$WORK/rsync.img")
    printf "%-6s %-28s %9s %14s %s\n" "$size" "rsync --inplace" "$t" "$bytes+" "-"
    cmp "$img" "$WORK/tracked.img" && cmp "$img" "$WORK/full.img" && cmp "$img" "$WORK/rsync.img" \
        || { echo "tracked.sh: a replica differs from the source" >&2; exit 1; }
    kill "$QEMU_PID"; wait "$QEMU_PID" 2>/dev/null || true; QEMU_PID=

    # The same disk as qcow2, read through NBD; its replica is the guest's disk as a raw image.
    rm -f "$WORK/tracked.img" "$WORK/full.img" "$WORK/rsync.img"
    qcow="$WORK/vm.qcow2"
    qemu-img convert -f raw -O qcow2 "$img" "$qcow"
    rm -f "$img"
    qemu-system-x86_64 -machine q35,accel=kvm:tcg -m 64 -nodefaults -display none -no-user-config \
        -qmp "unix:$WORK/vmq.qmp,server=on,wait=off" -qmp "unix:$WORK/testq.qmp,server=on,wait=off" \
        -blockdev "driver=file,filename=$qcow,node-name=disk0-file" -blockdev driver=qcow2,file=disk0-file,node-name=disk0 \
        -device virtio-blk-pci,drive=disk0,id=vd0 > "$WORK/qemu.log" 2>&1 &
    QEMU_PID=$!
    for _ in $(seq 100); do [[ -S "$WORK/testq.qmp" ]] && break; sleep 0.1; done
    snap="qemu:$WORK/vmq.qmp:disk0"
    echo "== $size qcow2 first copy" >> "$VERBOSE_LOG"
    t=$(seconds "${STANDIN[@]}" sync "$qcow" "$WORK/qcow-tracked.img" --snapshot "$snap" --state-dir "$state" --json -v)
    printf "%-6s %-28s %9s %14s %s\n" "$size" "qcow2 first copy (NBD)" "$t" "$(json sourceBytesRead)" "$(json tracking | cut -c1-20)"
    cp "$qcow" "$WORK/rsync.qcow2"
    java -cp "$JAR" "$BENCH_DIR/GuestWrites.java" "$WORK/testq.qmp" "$bytes" "$COUNT" "$CHUNK" 8
    echo "== $size qcow2 tracked" >> "$VERBOSE_LOG"
    t=$(seconds "${STANDIN[@]}" sync "$qcow" "$WORK/qcow-tracked.img" --snapshot "$snap" --state-dir "$state" --json -v)
    printf "%-6s %-28s %9s %14s %s\n" "$size" "qcow2 --snapshot (tracked)" "$t" "$(json sourceBytesRead)" "$(json tracking)"
    t=$(seconds rsync --inplace --no-whole-file "$qcow" "$WORK/rsync.qcow2")
    printf "%-6s %-28s %9s %14s %s\n" "$size" "rsync --inplace (qcow2 file)" "$t" "$(stat -c %s "$qcow")+" "-"
    qemu-img convert -U -f qcow2 -O raw "$qcow" "$WORK/check.raw"
    cmp "$WORK/check.raw" "$WORK/qcow-tracked.img" || { echo "tracked.sh: the qcow2 replica differs from the guest's disk" >&2; exit 1; }
    kill "$QEMU_PID"; wait "$QEMU_PID" 2>/dev/null || true; QEMU_PID=
done
rm -rf "$WORK"
