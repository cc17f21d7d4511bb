#!/usr/bin/env bash
# Stops and removes the gateway container (on `pulumi destroy` or before a replacement).
# Idempotent: a missing container is not an error. The data volume (usage ledger) is kept.
set -euo pipefail

name="${1:?usage: stop.sh NAME}"
if docker inspect "$name" >/dev/null 2>&1; then
    docker stop --time 30 "$name" >/dev/null
    docker rm "$name" >/dev/null
    echo "stop: removed $name"
else
    echo "stop: $name is not present"
fi
