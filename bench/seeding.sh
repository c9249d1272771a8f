#!/usr/bin/env bash
# Benchmark: seeding cycles (a replica copied by hand, no signatures on either side) through
# resident agents over loopback SSH, against rsync --inplace --no-whole-file, on two "hosts" made
# of this machine's cores: the sending agent on the first CPU, sshd and the agent that runs the
# receiver's 'standin serve' on the second (taskset), so that each side has a core of its own as
# two hosts would. Reading the replica and the source at once only pays when they do.
# Usage: bench/seeding.sh [--rounds 3] [--size 4G] [--workdir DIR]
# Needs: agent/target/standin.jar (mvn -q package -DskipTests), rsync, taskset, two CPUs.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
ROUNDS=3
SIZE=4G
WORK="$BENCH_DIR/work-seeding"
WARMUPS=5   # untimed cycles first: a resident agent has long compiled its code

while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) ROUNDS=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --workdir) WORK=$2; shift 2 ;;
        *) echo "seeding.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -f "$ROOT/agent/target/standin.jar" ]] || { echo "seeding.sh: build first: mvn -q package -DskipTests" >&2; exit 1; }
for t in rsync taskset sshd; do command -v "$t" >/dev/null || { echo "seeding.sh: needs $t" >&2; exit 1; }; done
(( $(nproc) >= 2 )) || { echo "seeding.sh: needs two CPUs, one per side" >&2; exit 1; }

mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)
BYTES=$(numfmt --from=iec "$SIZE")
if [[ ! -f "$WORK/base.img" || $(stat -c %s "$WORK/base.img") != "$BYTES" ]]; then
    java "$BENCH_DIR/MakeImages.java" --out "$WORK" --size "$BYTES" --change 0.01 --seed 42 >/dev/null
fi

SENDER="$WORK/sender"
RECEIVER="$WORK/receiver"
AGENTS=()
cleanup() {
    for pid in "${AGENTS[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
    "$ROOT/install/loopback-sshd.sh" stop "$WORK/sshd" 2>/dev/null || true
    rm -f "$WORK/replica-standin.img" "$WORK/replica-rsync.img"
}
trap cleanup EXIT
rm -rf "$SENDER" "$RECEIVER" "$WORK"/.replica-*
mkdir -p "$SENDER" "$RECEIVER"
taskset -c 0 "$ROOT/install/standin" agent --socket "$SENDER/agent.sock" 2> "$WORK/sender-agent.log" &
AGENTS+=($!)
taskset -c 1 "$ROOT/install/standin" agent --socket "$RECEIVER/agent.sock" 2> "$WORK/receiver-agent.log" &
AGENTS+=($!)
for _ in $(seq 100); do [[ -S "$SENDER/agent.sock" && -S "$RECEIVER/agent.sock" ]] && break; sleep 0.1; done
export STANDIN_AGENT_SOCKET="$SENDER/agent.sock"
PORT=$("$ROOT/install/loopback-sshd.sh" start "$WORK/sshd" "STANDIN_AGENT_SOCKET=$RECEIVER/agent.sock")
taskset -a -p -c 1 "$(cat "$WORK/sshd/sshd.pid")" >/dev/null   # its sessions inherit the core
AT="$(id -un)@127.0.0.1"
SSH_CMD="ssh -p $PORT -i $WORK/sshd/client_ed25519 -o UserKnownHostsFile=$WORK/sshd/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -c aes128-gcm@openssh.com"
STANDIN=("$ROOT/install/standin" sync -i "$WORK/sshd/client_ed25519" --known-hosts "$WORK/sshd/known_hosts"
    --ssh-config none --remote-standin "$ROOT/install/standin" --state-dir "$WORK/state")

copy_replica() { # a replica copied by hand: no signatures, no state on either side
    rm -rf "$1" "$WORK/.$(basename "$1")".standin-* "$WORK/state"
    cp --sparse=always "$WORK/base.img" "$1"
    sync
}
seconds() { # wall seconds of "$@"; its output in $WORK/last.out
    local start
    start=$(date +%s.%N)
    "$@" > "$WORK/last.out" 2>&1 || { echo "seeding.sh: failed: $*" >&2; tail -3 "$WORK/last.out" >&2; exit 1; }
    awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'
}
rsync_pinned() { # rsync from the sending core; its time includes the sync that standin's commit does
    taskset -c 0 rsync -e "$SSH_CMD" --inplace --no-whole-file "$WORK/changed.img" "$AT:$WORK/replica-rsync.img"
    sync "$WORK/replica-rsync.img"
}

for _ in $(seq "$WARMUPS"); do
    copy_replica "$WORK/replica-standin.img"
    "${STANDIN[@]}" "$WORK/changed.img" "ssh://$AT:$PORT$WORK/replica-standin.img" > /dev/null
done
printf '%-6s %12s %12s %8s %16s\n' round "standin s" "rsync s" ratio "source read GB"
for round in $(seq "$ROUNDS"); do
    copy_replica "$WORK/replica-standin.img"
    s=$(seconds "${STANDIN[@]}" "$WORK/changed.img" "ssh://$AT:$PORT$WORK/replica-standin.img" --json)
    read_gb=$(grep -o '"sourceBytesRead":[0-9]*' "$WORK/last.out" | awk -F: '{ printf "%.2f", $2 / 1e9 }')
    cmp -s "$WORK/replica-standin.img" "$WORK/changed.img" || { echo "seeding.sh: the replica differs" >&2; exit 1; }
    copy_replica "$WORK/replica-rsync.img"
    r=$(seconds rsync_pinned)
    cmp -s "$WORK/replica-rsync.img" "$WORK/changed.img" || { echo "seeding.sh: rsync's replica differs" >&2; exit 1; }
    awk -v n="$round" -v s="$s" -v r="$r" -v g="$read_gb" 'BEGIN { printf "%-6s %12.2f %12.2f %8.3f %16s\n", n, s, r, s / r, g }'
done
