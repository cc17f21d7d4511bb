#!/usr/bin/env bash
# Writes the gateway's env file from stdin, mode 0600, atomically. The content holds secrets:
# it is never echoed, and nothing is rewritten when it is unchanged.
set -euo pipefail

dest="${1:?usage: write-env.sh DEST_FILE < content}"
umask 077
dir="$(dirname -- "$dest")"
mkdir -p -- "$dir"
tmp="$(mktemp "$dir/.env.XXXXXX")"
trap 'rm -f -- "$tmp"' EXIT
cat >"$tmp"

if [ ! -s "$tmp" ]; then
    echo "write-env: empty input, refusing to write $dest" >&2
    exit 1
fi
if grep -q -v -E '^[A-Z_][A-Z0-9_]*=' "$tmp"; then
    echo "write-env: every line must look like NAME=value" >&2
    exit 1
fi
count="$(wc -l <"$tmp" | tr -d ' ')"
if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    chmod 600 "$dest"
    echo "write-env: $dest unchanged ($count variables)"
    exit 0
fi
chmod 600 "$tmp"
mv -f -- "$tmp" "$dest"
trap - EXIT
echo "write-env: wrote $dest ($count variables, mode 0600)"
