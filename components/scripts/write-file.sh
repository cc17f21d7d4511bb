#!/usr/bin/env bash
# Writes a file from stdin, mode 0600, atomically: an env file, a PEM (certificate or key) or plain
# text. The content may hold secrets: it is never echoed, and nothing is rewritten when unchanged.
set -euo pipefail

usage="usage: write-file.sh DEST_FILE env|pem|text < content"
dest="${1:?$usage}"
kind="${2:-env}"
umask 077
dir="$(dirname -- "$dest")"
mkdir -p -- "$dir"
tmp="$(mktemp "$dir/.write.XXXXXX")"
trap 'rm -f -- "$tmp"' EXIT
cat >"$tmp"

if [ ! -s "$tmp" ]; then
    echo "write-file: empty input, refusing to write $dest" >&2
    exit 1
fi
case "$kind" in
    env)
        if grep -q -v -E '^[A-Z_][A-Z0-9_]*=' "$tmp"; then
            echo "write-file: every line of $dest must look like NAME=value" >&2
            exit 1
        fi ;;
    pem)
        if ! grep -q -E '^-----BEGIN [A-Z0-9 ]+-----$' "$tmp"; then
            echo "write-file: $dest must be PEM (-----BEGIN ...-----)" >&2
            exit 1
        fi ;;
    text) ;;
    *)
        echo "$usage" >&2
        exit 2 ;;
esac
count="$(wc -l <"$tmp" | tr -d ' ')"
if [ -f "$dest" ] && cmp -s "$tmp" "$dest"; then
    chmod 600 "$dest"
    echo "write-file: $dest unchanged ($count lines)"
    exit 0
fi
chmod 600 "$tmp"
mv -f -- "$tmp" "$dest"
trap - EXIT
echo "write-file: wrote $dest ($count lines, mode 0600)"
