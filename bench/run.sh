#!/usr/bin/env bash
# Benchmark: standin vs rsync on a VM-disk-like image, first copy and incremental update.
# Usage: bench/run.sh [--size 4G] [--change 0.01] [--workdir DIR] [--keep] [--skip-rsync-b4096]
#                     [--cache cold|warm] [--seed N] [--reuse-images] [--ssh] [--repeat 3]
# --ssh: replicate through a loopback OpenSSH sshd started for the run, against rsync over ssh.
# --repeat N: N rounds of every row; the table and ratios use each row's median.
# See bench/README.md.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
JAR="$ROOT/agent/target/standin.jar"

SIZE=4G
CHANGE=0.01
WORK="$BENCH_DIR/work"
KEEP=0
SKIP_B4096=0
CACHE=auto
SEED=42
REUSE=0
SSH=0
REPEAT=3

usage() {
    sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

die() { echo "run.sh: error: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --size) SIZE=${2:?--size needs a value}; shift 2 ;;
        --change) CHANGE=${2:?--change needs a value}; shift 2 ;;
        --workdir) WORK=${2:?--workdir needs a value}; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --skip-rsync-b4096) SKIP_B4096=1; shift ;;
        --cache) CACHE=${2:?--cache needs cold or warm}; shift 2 ;;
        --seed) SEED=${2:?--seed needs a value}; shift 2 ;;
        --reuse-images) REUSE=1; shift ;;
        --ssh) SSH=1; shift ;;
        --repeat) REPEAT=${2:?--repeat needs a value}; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $1" ;;
    esac
done
case "$CACHE" in auto|cold|warm) ;; *) die "--cache must be cold or warm, not '$CACHE'" ;; esac
[[ "$REPEAT" =~ ^[1-9][0-9]*$ ]] || die "--repeat must be a positive whole number, not '$REPEAT'"
[[ "$CHANGE" =~ ^(0(\.[0-9]+)?|1(\.0*)?|\.[0-9]+)$ ]] || die "--change must be a fraction within 0..1, not '$CHANGE'"

to_bytes() { # 4G, 256M, 1.5G, 1048576
    local s=${1^^}; s=${s%IB}; s=${s%B}
    awk -v s="$s" 'BEGIN {
        m = 1; u = substr(s, length(s), 1)
        if (u == "K") m = 2^10; else if (u == "M") m = 2^20; else if (u == "G") m = 2^30; else if (u == "T") m = 2^40
        if (m > 1) s = substr(s, 1, length(s) - 1)
        if (s !~ /^[0-9]+(\.[0-9]+)?$/) exit 1
        printf "%.0f\n", s * m }'
}
SIZE_BYTES=$(to_bytes "$SIZE") || die "--size: not a size: '$SIZE' (examples: 4G, 256M)"
(( SIZE_BYTES > 0 && SIZE_BYTES % 4096 == 0 )) || die "--size must be a positive multiple of 4 KiB"

# ------------------------------------------------------------------ tools

need_apt=()
for t in rsync:rsync /usr/bin/time:time cmp:diffutils ssh:openssh-client java:openjdk-17-jdk-headless awk:gawk \
         /usr/sbin/sshd:openssh-server ssh-keygen:openssh-client; do
    cmd=${t%%:*}; pkg=${t#*:}
    command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if (( ${#need_apt[@]} )); then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null; then
        log "installing missing tools: ${need_apt[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >&2 \
            || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}" >&2; } \
            || die "could not install ${need_apt[*]} with apt-get; install them and retry"
    else
        die "missing tools (packages: ${need_apt[*]}); install them (apt-get install ${need_apt[*]}) and retry"
    fi
fi
for cmd in rsync /usr/bin/time cmp ssh java awk cp sync; do
    command -v "$cmd" >/dev/null 2>&1 || die "required tool '$cmd' not found"
done
/usr/bin/time -f '%e' true 2>/dev/null || die "/usr/bin/time is not GNU time (need -f); apt-get install time"
JAVA_MAJOR=$(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.specification.version/ {print $2}')
[[ "${JAVA_MAJOR%%.*}" -ge 17 ]] 2>/dev/null || die "Java 17 or later is needed (found ${JAVA_MAJOR:-none})"

# ------------------------------------------------------------------ workdir, space, cleanup

mkdir -p "$WORK" || die "cannot create workdir $WORK"
WORK=$(cd "$WORK" && pwd)
BASE="$WORK/base.img"; CHANGED="$WORK/changed.img"; CHANGES="$WORK/changes.json"
R_ST="$WORK/replica-standin.img"; R_RS="$WORK/replica-rsync.img"
LOGDIR="$WORK/logs"; RESULTS="$WORK/results.json"
mkdir -p "$LOGDIR"

cleanup() {
    local rc=$?
    if (( KEEP )); then
        echo "run.sh: images kept in $WORK (--keep)" >&2
    else
        rm -rf "$BASE" "$CHANGED" "$R_ST" "$R_RS" "$WORK"/.replica-standin.img.standin-* \
            "$WORK"/.replica-rsync.img.* "$WORK/state" 2>/dev/null || true
    fi
    if (( rc != 0 )); then
        echo "run.sh: FAILED (exit $rc); logs in $LOGDIR" >&2
    fi
}
stop_sshd() {
    "$ROOT/install/loopback-sshd.sh" stop "$WORK/sshd"
}
trap 'stop_agent; stop_sshd; cleanup' EXIT
trap 'exit 130' INT TERM

avail=$(df --output=avail -B1 "$WORK" | tail -1 | tr -d ' ')
need=$(( SIZE_BYTES * 4 + (1 << 30) ))   # base, changed, two replicas (fully allocated at worst) + 1 GiB
if (( avail < need )); then
    die "not enough space in $WORK: $(( avail >> 20 )) MiB free, need about $(( need >> 20 )) MiB (4 x --size + 1 GiB)"
fi
log "workdir $WORK: $(( avail >> 30 )) GiB free, need at most $(( need >> 30 )) GiB"

# ------------------------------------------------------------------ build, images

if [[ ! -f "$JAR" ]]; then
    log "building $JAR"
    command -v mvn >/dev/null || die "agent/target/standin.jar is missing and mvn is not installed (apt-get install maven)"
    ( cd "$ROOT" && { mvn -q -B -o package -DskipTests || mvn -q -B package -DskipTests; } ) >&2 \
        || die "build failed; run 'mvn -B package -DskipTests' in $ROOT to see why"
    [[ -f "$JAR" ]] || die "build did not produce $JAR"
fi

json_num() { # json_num KEY FILE -> the number (or true/false) of "KEY": in a flat JSON object
    sed -n "s/.*\"$1\":\([-0-9.eE+a-z]*\).*/\1/p" "$2" | head -1
}

images_match() {
    [[ -f "$BASE" && -f "$CHANGED" && -f "$CHANGES" ]] || return 1
    [[ "$(json_num size "$CHANGES")" == "$SIZE_BYTES" && "$(json_num seed "$CHANGES")" == "$SEED" ]] || return 1
    awk -v a="$(sed -n 's/.*"changeFraction":\([0-9.eE+-]*\).*/\1/p' "$CHANGES")" -v b="$CHANGE" 'BEGIN { exit !(a + 0 == b + 0) }'
}
if (( REUSE )) && images_match; then
    log "reusing base.img and changed.img in $WORK (--reuse-images)"
else
    log "making images: size $SIZE, change $CHANGE, seed $SEED"
    java "$BENCH_DIR/MakeImages.java" --out "$WORK" --size "$SIZE_BYTES" --change "$CHANGE" --seed "$SEED" >/dev/null \
        || die "MakeImages failed"
fi
CHANGED_BYTES=$(json_num changedBytes "$CHANGES")
CHANGED_BLOCKS=$(json_num changedBlocks "$CHANGES")
[[ -n "$CHANGED_BYTES" ]] || die "cannot read changedBytes from $CHANGES"
log "changed.img differs from base.img in $CHANGED_BLOCKS blocks of 4 KiB = $CHANGED_BYTES bytes (changes.json)"

# ------------------------------------------------------------------ cache mode

if [[ "$CACHE" == auto || "$CACHE" == cold ]]; then
    if sync && echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then
        CACHE=cold
    elif [[ "$CACHE" == cold ]]; then
        die "--cache cold: cannot write /proc/sys/vm/drop_caches (not root, or not allowed here); use --cache warm"
    else
        CACHE=warm
        log "cannot drop the page cache here; every run starts warm instead"
    fi
fi
log "cache mode: $CACHE"

# Before every timed run: flush dirty pages, then either drop the page cache (cold) or read
# source and destination completely (warm), so that every tool starts from the same state.
# Warm also empties the cache first where it may: what earlier rows left cached (written pages,
# 16 GiB of images) made the same scan 15 % slower than on pages just read (0.68 s against
# 0.58 s), whichever tool's row came after which.
prepare_cache() {
    sync
    if [[ "$CACHE" == cold ]]; then
        echo 3 > /proc/sys/vm/drop_caches
    else
        echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
        local f
        for f in "$@"; do
            if [[ -e "$f" ]]; then cat "$f" > /dev/null; fi
        done
        # Emptying the cache also dropped both tools' programs, which a host that runs a cycle every
        # few minutes keeps cached: a JVM started from a cold cache took 0.17-0.24 s instead of
        # 0.11-0.13 (rsync's and ssh's binaries are small). Each tool is started once, untimed.
        "$ROOT/install/standin" --version > /dev/null
        cat "$JAR" > /dev/null
        rsync --version > /dev/null
        ssh -V 2> /dev/null
    fi
}

# ------------------------------------------------------------------ runs

ROW_KEYS=()   # the table's rows, in the order of the first round
JSON_RUNS=()  # one JSON object per run
declare -A ROW_OF                # key -> "case|tool"
declare -A WALLS CPUS LITS WIRES # key -> one value per round, space separated
declare -A WALL CPU LIT WIRE     # key -> median over the rounds (summarize_rounds)
declare -A WALL_RANGE            # key -> "min-max" of the wall times

# timed KEY CASE TOOL SOURCE DEST KIND -- command...
# KIND is standin (parse --json stdout) or rsync (parse --stats). rsync is followed by 'sync DEST'
# inside the timing, because standin fsyncs what it writes before it returns.
timed() {
    local key=$1 case=$2 tool=$3 src=$4 dst=$5 kind=$6; shift 7
    local out="$LOGDIR/$key.out" err="$LOGDIR/$key.err" tf="$LOGDIR/$key.time"
    prepare_cache "$src" "$dst"
    log "$case: $tool: $*"
    local rc=0 agent_before
    agent_before=$(agent_cpu_ticks)
    if [[ "$kind" == rsync ]]; then
        /usr/bin/time -f '%e %U %S' -o "$tf" bash -c '"$@" && sync "${@: -1}"' _ "$@" > "$out" 2> "$err" || rc=$?
    elif [[ "$kind" == rsync-ssh ]]; then
        /usr/bin/time -f '%e %U %S' -o "$tf" bash -c '"$@" && sync' _ "$@" > "$out" 2> "$err" || rc=$?
    else
        /usr/bin/time -f '%e %U %S' -o "$tf" "$@" > "$out" 2> "$err" || rc=$?
    fi
    if (( rc != 0 )); then
        cat "$err" >&2
        die "$tool failed with exit $rc in '$case' (command: $*); output in $out, $err"
    fi
    local wall user sys
    read -r wall user sys < <(tail -1 "$tf")
    local literal wire
    if [[ "$kind" == standin ]]; then
        literal=$(json_num literalBytes "$out"); wire=$(json_num wireBytes "$out")
        [[ -n "$literal" && -n "$wire" ]] || die "no literalBytes/wireBytes in standin's --json output ($out)"
    else
        literal=$(sed -n 's/^Literal data: \([0-9,]*\) bytes.*/\1/p' "$out" | tr -d ,)
        local sent recv
        sent=$(sed -n 's/^Total bytes sent: \([0-9,]*\).*/\1/p' "$out" | tr -d ,)
        recv=$(sed -n 's/^Total bytes received: \([0-9,]*\).*/\1/p' "$out" | tr -d ,)
        [[ -n "$literal" && -n "$sent" && -n "$recv" ]] || die "cannot parse rsync --stats output ($out)"
        wire=$(( sent + recv ))
    fi
    log "   verifying: cmp $(basename "$src") $(basename "$dst")"
    if ! cmp "$src" "$dst" > "$LOGDIR/$key.cmp" 2>&1; then
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
        echo "!!! MISMATCH after $tool ($case): $dst is not identical to $src" >&2
        cat "$LOGDIR/$key.cmp" >&2
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
        exit 3
    fi
    # A command run by the agent spends its CPU there: count the agent's share of the run too.
    local agent_ticks
    agent_ticks=$(( $(agent_cpu_ticks) - agent_before ))
    user=$(awk -v u="$user" -v t="$agent_ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", u + t / hz }')
    local cpu
    cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
    if [[ -z "${ROW_OF[$key]:-}" ]]; then
        ROW_KEYS+=("$key")
        ROW_OF[$key]="$case|$tool"
    fi
    WALLS[$key]+="$wall "; CPUS[$key]+="$cpu "; LITS[$key]+="$literal "; WIRES[$key]+="$wire "
    local extra=""
    if [[ "$kind" == standin ]]; then
        extra=",\"standin\":$(tail -1 "$out")"
    fi
    local cmdjson
    cmdjson=$(printf '%s ' "$@" | sed 's/ $//; s/\\/\\\\/g; s/"/\\"/g')
    JSON_RUNS+=("{\"round\":$ROUND,\"key\":\"$key\",\"case\":\"$case\",\"tool\":\"$tool\",\"command\":\"$cmdjson\",\"wallSeconds\":$wall,\"userSeconds\":$user,\"sysSeconds\":$sys,\"cpuSeconds\":$cpu,\"literalBytes\":$literal,\"wireBytes\":$wire,\"verified\":true$extra}")
    log "   wall ${wall}s cpu ${cpu}s literal $literal wire $wire"
}

median() { # median of the numbers given
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

summarize_rounds() {
    local key
    for key in "${ROW_KEYS[@]}"; do
        # shellcheck disable=SC2086 # the lists are space-separated numbers
        WALL[$key]=$(median ${WALLS[$key]}); CPU[$key]=$(median ${CPUS[$key]})
        LIT[$key]=$(median ${LITS[$key]}); WIRE[$key]=$(median ${WIRES[$key]})
        WALL_RANGE[$key]=$(printf '%s\n' ${WALLS[$key]} | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f-%.2f", lo, hi }')
    done
}

reset_replica() { # reset_replica DEST: make DEST a sparse copy of base.img (not timed)
    rm -rf "$1" "$(dirname "$1")/.$(basename "$1")".standin-*   # signatures, points, journal, resume log
    cp --sparse=always "$BASE" "$1"
}

# seed_standin_replica DEST: as after a previous standin cycle: a copy of base.img whose block
# signatures standin has recorded beside it (not timed). This is the steady state of a replica
# that standin maintains: each cycle reads only the source.
seed_standin_replica() {
    reset_replica "$1"
    "${STANDIN[@]}" "$BASE" "$1" --json > "$LOGDIR/seed-$(basename "$1").json"
}

STANDIN=("$ROOT/install/standin" sync)
# Untimed cycles a fresh agent runs before its timed one. Its JIT keeps compiling for the first
# cycles: back-to-back SSH incrementals took 1.81, 1.24, 1.19, 1.16, 1.15, 1.28, 1.08, 1.13, 1.05,
# 1.06 s (2026-12-02, commit 20b9dea; the odd ones this cycle, the even ones its reverse), and
# with three warm-up cycles the timed one was still in the slope. A resident agent is past it.
AGENT_WARMUPS=8

# The resident agent (docs/agent.md), for the rows that say "via agent" only: every other row runs
# standin in a JVM of its own, since this socket does not exist until start_agent.
export STANDIN_AGENT_SOCKET="$WORK/agent/agent.sock"
AGENT_PID=""
start_agent() {
    rm -rf "$WORK/agent"
    "$ROOT/install/standin" agent --socket "$STANDIN_AGENT_SOCKET" 2> "$LOGDIR/agent.log" &
    AGENT_PID=$!
    for _ in $(seq 100); do [[ -S "$STANDIN_AGENT_SOCKET" ]] && return; sleep 0.1; done
    die "the agent did not start; see $LOGDIR/agent.log"
}
stop_agent() {
    [[ -n "$AGENT_PID" ]] || return 0
    kill "$AGENT_PID" 2>/dev/null || true
    wait "$AGENT_PID" 2>/dev/null || true
    AGENT_PID=""
}
agent_cpu_ticks() { # user + system clock ticks of the agent so far (0 without one)
    if [[ -n "$AGENT_PID" ]]; then awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; else echo 0; fi
}
HUMAN_SIZE=$(awk -v b="$SIZE_BYTES" 'BEGIN { if (b >= 2^30) printf "%g GiB", b / 2^30; else printf "%g MiB", b / 2^20 }')
PCT=$(awk -v c="$CHANGE" 'BEGIN { printf "%g%%", c * 100 }')
C_FIRST="first copy of $HUMAN_SIZE"
C_INC="incremental $PCT of $HUMAN_SIZE"

if (( SSH )); then
    # A loopback sshd for this run only: throwaway host and client keys, strict known_hosts.
    SSHD="$WORK/sshd"
    PORT=$("$ROOT/install/loopback-sshd.sh" start "$SSHD" "STANDIN_AGENT_SOCKET=$STANDIN_AGENT_SOCKET") \
        || die "sshd did not start"
    USER_AT="$(id -un)@127.0.0.1"
    # Both tools get the same cipher (what standin prefers) so that the SSH cost is the same.
    SSH_CMD="ssh -p $PORT -i $SSHD/client_ed25519 -o UserKnownHostsFile=$SSHD/known_hosts -o StrictHostKeyChecking=yes -o BatchMode=yes -c aes128-gcm@openssh.com"
    $SSH_CMD "$USER_AT" true || die "cannot ssh to the benchmark's sshd on port $PORT"
    STANDIN_SSH=(-i "$SSHD/client_ed25519" --known-hosts "$SSHD/known_hosts" --ssh-config none
        --remote-standin "$ROOT/install/standin" --state-dir "$WORK/state")
    url() { echo "ssh://$USER_AT:$PORT$1"; }
    seed_remote_standin() { # as after a previous cycle: replica, its signatures on both sides
        reset_replica "$1"
        rm -rf "$WORK/state/remote"
        "${STANDIN[@]}" "$BASE" "$(url "$1")" "${STANDIN_SSH[@]}" --json > "$LOGDIR/seed-ssh.json"
    }
    C_FIRST="ssh: first copy of $HUMAN_SIZE"
    C_INC="ssh: incremental $PCT of $HUMAN_SIZE"
    SKIP_B4096=1
fi

# One round: every row once, in this order. Rounds repeat it (--repeat), so that a pause or a
# burst of the host's noise hits every tool's row of a round alike, not one tool's all rows.
run_round() {
if (( SSH )); then
    rm -rf "$R_ST" "$R_RS" "$WORK"/.replica-standin.img.standin-*
    timed first-standin "$C_FIRST" "standin (zstd)" "$BASE" "$R_ST" standin -- \
        "${STANDIN[@]}" "$BASE" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json -v
    timed first-rsync "$C_FIRST" "rsync --sparse -z" "$BASE" "$R_RS" rsync-ssh -- \
        rsync -e "$SSH_CMD" --sparse -z --inplace --no-whole-file --stats "$BASE" "$USER_AT:$R_RS"
    seed_remote_standin "$R_ST"
    timed inc-standin "$C_INC" "standin (zstd)" "$CHANGED" "$R_ST" standin -- \
        "${STANDIN[@]}" "$CHANGED" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json -v
    seed_remote_standin "$R_ST"
    rm -rf "$WORK/state/remote"
    timed inc-standin-nocache "$C_INC" "standin, receiver sigs" "$CHANGED" "$R_ST" standin -- \
        "${STANDIN[@]}" "$CHANGED" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json -v
    reset_replica "$R_ST"
    rm -rf "$WORK/state/remote"
    timed inc-standin-read "$C_INC" "standin, replica read" "$CHANGED" "$R_ST" standin -- \
        "${STANDIN[@]}" "$CHANGED" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json -v
    # Both ends through one resident agent (sync here, serve under sshd), after untimed cycles of
    # the same kind (one first copy, $AGENT_WARMUPS incrementals): an agent that runs a cycle every
    # few minutes has compiled its code long since (see AGENT_WARMUPS).
    start_agent
    rm -rf "$R_ST" "$WORK"/.replica-standin.img.standin-* "$WORK/state/remote"
    "${STANDIN[@]}" "$BASE" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json > "$LOGDIR/warm-agent-ssh-first.json"
    rm -rf "$R_ST" "$WORK"/.replica-standin.img.standin-* "$WORK/state/remote"
    timed first-standin-agent "$C_FIRST" "standin via agent" "$BASE" "$R_ST" standin -- \
        "${STANDIN[@]}" "$BASE" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json -v
    for warm in $(seq "$AGENT_WARMUPS"); do
        seed_remote_standin "$R_ST"
        "${STANDIN[@]}" "$CHANGED" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json > "$LOGDIR/warm-agent-ssh-$warm.json"
    done
    seed_remote_standin "$R_ST"
    timed inc-standin-agent "$C_INC" "standin via agent" "$CHANGED" "$R_ST" standin -- \
        "${STANDIN[@]}" "$CHANGED" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json -v
    # Seeding (issue 16's bar): a replica copied by hand, no signatures on either side.
    reset_replica "$R_ST"
    rm -rf "$WORK/state/remote"
    timed inc-standin-agent-read "$C_INC" "via agent, replica read" "$CHANGED" "$R_ST" standin -- \
        "${STANDIN[@]}" "$CHANGED" "$(url "$R_ST")" "${STANDIN_SSH[@]}" --json -v
    stop_agent
    reset_replica "$R_RS"
    timed inc-rsync "$C_INC" "rsync --inplace" "$CHANGED" "$R_RS" rsync-ssh -- \
        rsync -e "$SSH_CMD" --inplace --no-whole-file --stats "$CHANGED" "$USER_AT:$R_RS"
    reset_replica "$R_RS"
    timed inc-rsync-z "$C_INC" "rsync --inplace -z" "$CHANGED" "$R_RS" rsync-ssh -- \
        rsync -e "$SSH_CMD" --inplace --no-whole-file -z --stats "$CHANGED" "$USER_AT:$R_RS"
else
rm -rf "$R_ST" "$R_RS" "$WORK"/.replica-standin.img.standin-*

# first copy: the destination does not exist
timed first-standin "$C_FIRST" "standin" "$BASE" "$R_ST" standin -- \
    "${STANDIN[@]}" "$BASE" "$R_ST" --json -v
timed first-rsync "$C_FIRST" "rsync --sparse" "$BASE" "$R_RS" rsync -- \
    rsync --sparse --inplace --no-whole-file --stats "$BASE" "$R_RS"

# incremental: every replica starts as a copy of base.img, then changed.img is synced onto it.
# standin's steady state keeps the replica's signatures from the previous cycle; the
# "replica read" run shows the cost without them (a replica copied by hand, or booted).
seed_standin_replica "$R_ST"
timed inc-standin "$C_INC" "standin" "$CHANGED" "$R_ST" standin -- \
    "${STANDIN[@]}" "$CHANGED" "$R_ST" --json -v
reset_replica "$R_ST"
timed inc-standin-nocache "$C_INC" "standin, replica read" "$CHANGED" "$R_ST" standin -- \
    "${STANDIN[@]}" "$CHANGED" "$R_ST" --json -v
# The same cycle through the resident agent, after untimed cycles of the same kind: an agent that
# runs a cycle every few minutes has compiled its code long since (see AGENT_WARMUPS).
start_agent
for warm in $(seq "$AGENT_WARMUPS"); do
    seed_standin_replica "$R_ST"
    "${STANDIN[@]}" "$CHANGED" "$R_ST" --json > "$LOGDIR/warm-agent-$warm.json"
done
seed_standin_replica "$R_ST"
timed inc-standin-agent "$C_INC" "standin via agent" "$CHANGED" "$R_ST" standin -- \
    "${STANDIN[@]}" "$CHANGED" "$R_ST" --json -v
# Seeding (issue 16's bar): a replica copied by hand, no signatures.
reset_replica "$R_ST"
timed inc-standin-agent-read "$C_INC" "via agent, replica read" "$CHANGED" "$R_ST" standin -- \
    "${STANDIN[@]}" "$CHANGED" "$R_ST" --json -v
stop_agent
seed_standin_replica "$R_ST"
timed inc-standin-keepcache "$C_INC" "standin --no-drop-cache" "$CHANGED" "$R_ST" standin -- \
    "${STANDIN[@]}" "$CHANGED" "$R_ST" --json -v --no-drop-cache
seed_standin_replica "$R_ST"
timed inc-standin-t1 "$C_INC" "standin --threads 1" "$CHANGED" "$R_ST" standin -- \
    "${STANDIN[@]}" "$CHANGED" "$R_ST" --json -v --threads 1
reset_replica "$R_RS"
timed inc-rsync "$C_INC" "rsync --inplace" "$CHANGED" "$R_RS" rsync -- \
    rsync --inplace --no-whole-file --stats "$CHANGED" "$R_RS"
if (( ! SKIP_B4096 )); then
    reset_replica "$R_RS"
    timed inc-rsync-b4096 "$C_INC" "rsync --inplace -B4096" "$CHANGED" "$R_RS" rsync -- \
        rsync --inplace --no-whole-file -B 4096 --stats "$CHANGED" "$R_RS"
fi

fi
}

for ROUND in $(seq "$REPEAT"); do
    log "round $ROUND of $REPEAT"
    run_round
done
summarize_rounds

# ------------------------------------------------------------------ report

REPORT="$WORK/results.txt"
{
    echo "standin benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$ROOT" describe --always --dirty=' with uncommitted changes' 2>/dev/null || echo unknown)"
    echo "image $HUMAN_SIZE (seed $SEED): $(json_num randomBytes "$CHANGES" | awk '{printf "%.0f MiB", $1/2^20}') random," \
        "$(json_num compressibleBytes "$CHANGES" | awk '{printf "%.0f MiB", $1/2^20}') compressible," \
        "$(json_num zeroBytes "$CHANGES" | awk '{printf "%.0f MiB", $1/2^20}') zero (holes)"
    echo "changed.img: $CHANGED_BLOCKS blocks of 4 KiB changed = $CHANGED_BYTES bytes" \
        "($(awk -v b="$CHANGED_BYTES" 'BEGIN{printf "%.1f", b/2^20}') MiB), clustered 1-16 blocks"
    if [[ "$CACHE" == cold ]]; then
        echo "cache: cold -- 'sync; echo 3 > /proc/sys/vm/drop_caches' before every timed run"
    else
        echo "cache: warm -- 'sync' and source and destination read into the page cache before every timed run"
    fi
    echo "rsync timings include 'sync DEST' (standin fsyncs before it returns); every result verified with cmp"
    echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/2^20}' /proc/meminfo) RAM; $(rsync --version | head -1 | awk '{print $1, $3}');" \
        "java $(java -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java.runtime.version/ {print $2}')"
    echo
    if (( REPEAT > 1 )); then
        echo "each row: the median of $REPEAT rounds (wall range: fastest-slowest round)"
    fi
    printf '%-28s %-26s %8s %12s %8s %13s %10s\n' case tool "wall s" "wall range" "cpu s" "literal MiB" "wire MiB"
    for key in "${ROW_KEYS[@]}"; do
        IFS='|' read -r c t <<< "${ROW_OF[$key]}"
        awk -v c="$c" -v t="$t" -v w="${WALL[$key]}" -v range="${WALL_RANGE[$key]}" -v cpu="${CPU[$key]}" \
            -v l="${LIT[$key]}" -v wi="${WIRE[$key]}" \
            'BEGIN { printf "%-28s %-26s %8.2f %12s %8.2f %13.1f %10.1f\n", c, t, w, range, cpu, l / 2^20, wi / 2^20 }'
    done
    echo
    ratio() { # ratio LABEL A B: A/B and the speed factor
        awk -v label="$1" -v a="$2" -v b="$3" 'BEGIN {
            if (b <= 0) { printf "  %-52s n/a\n", label; exit }
            r = a / b
            if (r < 1 && r > 0) printf "  %-52s %.3f (%.1fx faster)\n", label, r, 1 / r
            else printf "  %-52s %.3f (%.1fx slower)\n", label, r, r }'
    }
    plain() { awk -v label="$1" -v a="$2" -v b="$3" 'BEGIN { if (b > 0) printf "  %-52s %.3f\n", label, a / b; else printf "  %-52s n/a\n", label }'; }
    if (( REPEAT > 1 )); then echo "ratios (of the medians):"; else echo "ratios:"; fi
    ratio "first copy: standin wall / rsync wall" "${WALL[first-standin]}" "${WALL[first-rsync]}"
    ratio "incremental: standin wall / rsync --inplace wall" "${WALL[inc-standin]}" "${WALL[inc-rsync]}"
    ratio "incremental: standin cpu / rsync --inplace cpu" "${CPU[inc-standin]}" "${CPU[inc-rsync]}"
    ratio "incremental: standin (no sender cache) wall / rsync --inplace wall" "${WALL[inc-standin-nocache]}" "${WALL[inc-rsync]}"
    ratio "incremental: standin via agent wall / rsync --inplace wall" "${WALL[inc-standin-agent]}" "${WALL[inc-rsync]}"
    ratio "incremental: standin via agent cpu / rsync --inplace cpu" "${CPU[inc-standin-agent]}" "${CPU[inc-rsync]}"
    ratio "seeding (replica read): via agent / rsync --inplace" "${WALL[inc-standin-agent-read]}" "${WALL[inc-rsync]}"
    if (( SSH )); then
        ratio "incremental: standin wall / rsync --inplace -z wall" "${WALL[inc-standin]}" "${WALL[inc-rsync-z]}"
        plain "incremental: rsync -z wire / changed bytes" "${WIRE[inc-rsync-z]}" "$CHANGED_BYTES"
        plain "first copy: standin wire / rsync -z wire" "${WIRE[first-standin]}" "${WIRE[first-rsync]}"
        ratio "first copy: standin via agent wall / rsync -z wall" "${WALL[first-standin-agent]}" "${WALL[first-rsync]}"
    fi
    if (( ! SKIP_B4096 )); then
        ratio "incremental: standin wall / rsync -B4096 wall" "${WALL[inc-standin]}" "${WALL[inc-rsync-b4096]}"
        ratio "incremental: standin cpu / rsync -B4096 cpu" "${CPU[inc-standin]}" "${CPU[inc-rsync-b4096]}"
    fi
    plain "incremental: standin literal / changed bytes" "${LIT[inc-standin]}" "$CHANGED_BYTES"
    plain "incremental: rsync --inplace literal / changed bytes" "${LIT[inc-rsync]}" "$CHANGED_BYTES"
    if (( ! SKIP_B4096 )); then
        plain "incremental: rsync -B4096 literal / changed bytes" "${LIT[inc-rsync-b4096]}" "$CHANGED_BYTES"
    fi
    plain "incremental: standin wire / changed bytes" "${WIRE[inc-standin]}" "$CHANGED_BYTES"
    plain "incremental: rsync --inplace wire / changed bytes" "${WIRE[inc-rsync]}" "$CHANGED_BYTES"
    if (( REPEAT > 1 )); then
        # The targets' ratios round by round: how far a single run could have strayed.
        per_round() { # per_round LABEL KEY_A KEY_B
            local label=$1
            # shellcheck disable=SC2086 # space-separated numbers
            paste -d' ' <(printf '%s\n' ${WALLS[$2]}) <(printf '%s\n' ${WALLS[$3]}) \
                | awk -v label="$label" '{ s = s sprintf(" %.3f", $1 / $2) } END { printf "  %-52s%s\n", label, s }'
        }
        echo "the same ratios, round by round:"
        if [[ -n "${WALL[inc-standin-agent]:-}" ]]; then
            per_round "incremental: standin via agent wall / rsync wall" inc-standin-agent inc-rsync
            per_round "seeding (replica read): via agent / rsync" inc-standin-agent-read inc-rsync
        fi
        per_round "incremental: standin wall / rsync --inplace wall" inc-standin inc-rsync
        if (( SSH )); then
            per_round "first copy: standin via agent wall / rsync -z wall" first-standin-agent first-rsync
        fi
        per_round "first copy: standin wall / rsync wall" first-standin first-rsync
    fi
    echo
    for k in inc-standin inc-standin-agent inc-standin-t1 first-standin; do
        [[ -n "${WALL[$k]:-}" && -f "$LOGDIR/$k.err" ]] || continue  # rows of this run only
        echo "standin phase starts (-v, round $REPEAT), $k (self-reported total $(json_num seconds "$LOGDIR/$k.out" | awk '{printf "%.2f", $1}') s, wall ${WALL[$k]} s):"
        sed -n 's/^standin: /  /p' "$LOGDIR/$k.err"
    done
} | tee "$REPORT"

{
    printf '{"date":"%s","commit":"%s","size":%s,"changeFraction":%s,"seed":%s,"cache":"%s","rounds":%s,' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)" \
        "$SIZE_BYTES" "$CHANGE" "$SEED" "$CACHE" "$REPEAT"
    printf '"rsyncFsyncIncluded":true,"cores":%s,"images":%s,"runs":[' "$(nproc)" "$(tr -d '\n' < "$CHANGES")"
    sep=""
    for j in "${JSON_RUNS[@]}"; do printf '%s%s' "$sep" "$j"; sep=","; done
    printf ']}\n'
} > "$RESULTS"
log "results: $RESULTS, table: $REPORT, logs: $LOGDIR"
