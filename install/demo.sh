#!/usr/bin/env bash
# The standin demo: builds the jar, makes a sample VM disk image (random data, text-like
# data and holes), replicates it over SSH to this machine (a throwaway sshd on 127.0.0.1),
# changes 1 % of its 4 KiB blocks as a running guest would, syncs again, and verifies that the
# replica is byte-identical to the source.
set -euo pipefail
cd "$(dirname "$0")/.."

install/setup-debian.sh --demo
echo "== building standin (mvn package, a minute or two the first time)"
build_log=$(mktemp /tmp/standin-build.XXXXXX.log)
if ! mvn -q -B package -DskipTests > "$build_log" 2>&1; then
  cat "$build_log" >&2
  echo "demo.sh: the build failed; its output is above and in $build_log" >&2
  exit 1
fi
rm -f "$build_log"
jar=agent/target/standin.jar
standin() { install/standin "$@"; }

work=${STANDIN_DEMO_DIR:-$(mktemp -d /tmp/standin-demo.XXXXXX)}
mkdir -p "$work"
work=$(cd "$work" && pwd)
trap 'install/loopback-sshd.sh stop "$work/sshd"; rm -rf "$work"' EXIT
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

echo "== starting a throwaway sshd on 127.0.0.1 (its own keys; your ssh setup is not touched)"
port=$(install/loopback-sshd.sh start "$work/sshd")
mkdir -p "$work/dr-site"
dest="ssh://$(id -un)@127.0.0.1:$port$work/dr-site/vm.img"
ssh_opts=(-i "$work/sshd/client_ed25519" --known-hosts "$work/sshd/known_hosts" --ssh-config none
  --remote-standin "$PWD/install/standin" --state-dir "$work/state")

echo "== first copy to $dest"
standin sync "$img" "$dest" "${ssh_opts[@]}" --stats

echo "== a guest writes to 1 % of the blocks"
blocks=$(( size_mib * 256 ))
changed=$(( blocks / 100 ))
for ((i = 0; i < changed; i += 8)); do
  echo $(( (RANDOM * 32768 + RANDOM) % (blocks - 8) ))
done | while read -r block; do
  head -c 32K /dev/urandom | dd of="$img" bs=4096 seek="$block" conv=notrunc status=none
done

echo "== incremental sync: neither side reads the replica (both keep its signatures), only changed blocks cross SSH"
standin sync "$img" "$dest" "${ssh_opts[@]}" --stats

echo "== verifying: standin verify re-reads the replica against its record, then cmp against the source"
standin verify "$work/dr-site/vm.img"
if cmp -s "$img" "$work/dr-site/vm.img"; then
  echo "OK: the replica on the DR side is byte-identical to the source ($(sha256sum < "$img" | cut -c1-16)...)"
else
  echo "FAILED: replica differs from the source" >&2
  exit 1
fi
