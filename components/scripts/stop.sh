#!/usr/bin/env bash
# Stops and removes a container (on `pulumi destroy` or when its host moves), and any copy that
# run-container.sh kept for a rollback. Idempotent: a missing container is not an error.
# Volumes (usage ledger, model cache, certificates) are kept.
set -euo pipefail

name="${1:?usage: stop.sh NAME}"
found=0
for container in "$name" "$name-previous"; do
    if docker inspect "$container" >/dev/null 2>&1; then
        # A graceful stop lets the gateway flush its usage ledger.
        docker stop --time 30 "$container" >/dev/null
        docker rm "$container" >/dev/null
        echo "stop: removed $container"
        found=1
    fi
done
if [ "$found" = 0 ]; then
    echo "stop: $name is not present"
fi
