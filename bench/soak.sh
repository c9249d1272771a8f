#!/usr/bin/env bash
# The supervisor's soak test (issue 17): a dozen 1 GiB images written by guest-like writers, RPO
# 2 minutes, 30 minutes with sshd killed for 3 minutes twice; prints RPO compliance, worst lag,
# recovery after each outage, cycles and retries, the agent's CPU and peak RSS, and whether the
# replicas equal their sources at the end. Scale it down with the variables below.
#   bench/soak.sh [WORKDIR]      VMS=12 IMAGE_MIB=1024 RPO=120 MINUTES=30 OUTAGE=180
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-/var/tmp/standin-soak}
mkdir -p "$work"
[ -f "$repo/agent/target/standin.jar" ] || (cd "$repo" && mvn -q -B package -DskipTests)
exec java -cp "$repo/agent/target/standin.jar" "$repo/bench/Soak.java" "$work" "$repo" "${VMS:-12}" \
    "${IMAGE_MIB:-1024}" "${RPO:-120}" "${MINUTES:-30}" "${OUTAGE:-180}"
