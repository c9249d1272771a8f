#!/usr/bin/env bash
# Starts a throwaway OpenSSH sshd on 127.0.0.1 for the demo and the benchmark: its own host key,
# one client key in its own authorized_keys, a known_hosts that trusts it, nothing of the
# machine's ssh configuration touched.
#   install/loopback-sshd.sh start DIR [NAME=VALUE...]  -> prints the port; DIR gets client_ed25519,
#                                  known_hosts; NAME=VALUE go into every session's environment (SetEnv)
#   install/loopback-sshd.sh stop DIR
set -euo pipefail
cmd=${1:?usage: loopback-sshd.sh start|stop DIR}
dir=${2:?usage: loopback-sshd.sh start|stop DIR}

case "$cmd" in
start)
    mkdir -p "$dir" /run/sshd
    dir=$(cd "$dir" && pwd)
    rm -f "$dir"/host_ed25519* "$dir"/client_ed25519*
    ssh-keygen -q -t ed25519 -N '' -C standin-loopback -f "$dir/host_ed25519"
    ssh-keygen -q -t ed25519 -N '' -C standin-loopback -f "$dir/client_ed25519"
    cp "$dir/client_ed25519.pub" "$dir/authorized_keys"
    for _ in $(seq 20); do
        port=$(( 20000 + RANDOM % 20000 ))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    done
    printf '%s\n' "Port $port" "ListenAddress 127.0.0.1" "HostKey $dir/host_ed25519" \
        "AuthorizedKeysFile $dir/authorized_keys" "PidFile $dir/sshd.pid" "StrictModes no" "UsePAM no" \
        "PasswordAuthentication no" "KbdInteractiveAuthentication no" "PermitRootLogin prohibit-password" \
        "LogLevel ERROR" > "$dir/sshd_config"
    if (( $# > 2 )); then
        echo "SetEnv ${*:3}" >> "$dir/sshd_config"
    fi
    echo "[127.0.0.1]:$port $(cat "$dir/host_ed25519.pub")" > "$dir/known_hosts"
    /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log" || { cat "$dir/sshd.log" >&2; exit 1; }
    for _ in $(seq 50); do [[ -s "$dir/sshd.pid" ]] && break; sleep 0.1; done
    [[ -s "$dir/sshd.pid" ]] || { echo "loopback-sshd.sh: sshd did not start; see $dir/sshd.log" >&2; exit 1; }
    echo "$port"
    ;;
stop)
    if [[ -s "$dir/sshd.pid" ]]; then
        kill "$(cat "$dir/sshd.pid")" 2>/dev/null || true
        rm -f "$dir/sshd.pid"
    fi
    ;;
*)
    echo "usage: loopback-sshd.sh start|stop DIR" >&2
    exit 2
    ;;
esac
