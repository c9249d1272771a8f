# Run by 'standin pair' on the replica host through the administrator's ssh, as sh -c SCRIPT
# standin-pair ROOT LINE AS_USER BLOB AUTHORIZED_KEYS. Idempotent: prints "unchanged" when the
# line is already there, else "installed". Any other key line of the same key is replaced, so a
# pair with another --root moves the key to it.
set -eu
root=$1 line=$2 as_user=$3 blob=$4 keys=$5
if [ -n "$as_user" ]; then
    if ! id "$as_user" >/dev/null 2>&1; then
        useradd --system --create-home --shell /bin/sh "$as_user"
    fi
    home=$(getent passwd "$as_user" | cut -d: -f6)
else
    home=$HOME
fi
mkdir -p "$root"
[ -z "$as_user" ] || chown "$as_user:" "$root"
if [ -z "$keys" ]; then
    mkdir -p "$home/.ssh"
    chmod 700 "$home/.ssh"
    [ -z "$as_user" ] || chown "$as_user:" "$home/.ssh"
    keys=$home/.ssh/authorized_keys
fi
touch "$keys"
if grep -qxF -- "$line" "$keys"; then
    echo unchanged
    exit 0
fi
tmp=$keys.standin-pair.$$
trap 'rm -f "$tmp"' EXIT
grep -vF -- "$blob" "$keys" > "$tmp" || true
printf '%s\n' "$line" >> "$tmp"
chmod 600 "$tmp"
[ -z "$as_user" ] || chown "$as_user:" "$tmp"
mv "$tmp" "$keys"
trap - EXIT
echo installed
