#!/usr/bin/env bash
# The protocol fuzz harness at scale: ProtocolFuzzIT (captured sender sessions, mutated by a
# seeded generator, each served in-process against a fresh root on /dev/shm) with random seeds,
# one JVM per core, and the outcome table summed over them. CI runs 3000 cases of seed 1.
# Usage: bench/fuzz.sh [CASES] (default 1000000, split over the cores)
set -euo pipefail
cd "$(dirname "$0")/.."

cases=${1:-1000000}
jobs=$(nproc)
per_job=$(( (cases + jobs - 1) / jobs ))
out=$(mktemp -d /tmp/standin-fuzz.XXXXXX)
trap 'rm -rf "$out"' EXIT
mvn -q -B -o install -DskipTests > "$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
echo "fuzz.sh: $cases cases in $jobs JVMs of $per_job, results in $out" >&2
pids=()
for ((j = 0; j < jobs; j++)); do
  seed=$(od -An -N6 -tu8 /dev/urandom | tr -d ' ')
  echo "$seed" > "$out/seed-$j"
  # Each JVM builds in its own directory: surefire's reports would collide.
  mvn -q -B -o -pl agent surefire:test -Dtest=ProtocolFuzzIT -Dsurefire.failIfNoSpecifiedTests=false \
      -Dstandin.fuzz.cases="$per_job" -Dstandin.fuzz.seed="$seed" \
      -DreportsDirectory="$out/reports-$j" -DtrimStackTrace=true > "$out/job-$j.log" 2>&1 &
  pids+=($!)
done
status=0
for ((j = 0; j < jobs; j++)); do
  if ! wait "${pids[$j]}"; then
    status=1
    echo "fuzz.sh: job $j (seed $(cat "$out/seed-$j")) found a failing case:" >&2
    grep -E "seed [0-9]+ case [0-9]+" "$out/job-$j.log" | head -20 >&2 || tail -40 "$out/job-$j.log" >&2
  fi
done
# Sum the per-JVM tables (rows "| MUTATION | n | n | n | n |") of the JVMs' output.
echo "| mutation | exit 0 | exit 4 | exit 5 | exit 6 |"
echo "| --- | --- | --- | --- | --- |"
cat "$out"/job-*.log | grep -E '^\| [A-Z_]+ +\|' | awk -F'|' '
  { m=$2; gsub(/ /,"",m); for (i=3;i<=6;i++) { v=$i; gsub(/ /,"",v); sum[m,i]+=v } seen[m]=1 }
  END { for (m in seen) printf "| %s | %d | %d | %d | %d |\n", m, sum[m,3], sum[m,4], sum[m,5], sum[m,6] }' | sort
grep -h "ProtocolFuzzIT:" "$out"/job-*.log | sed "s/\x1b\[[0-9;]*m//g" || true
exit $status
