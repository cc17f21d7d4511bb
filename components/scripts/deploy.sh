#!/usr/bin/env bash
# Runs the gateway container and waits (bounded) for its /healthz. Idempotent: when the running
# container already has this image, port, volume and env file, nothing is pulled or restarted.
# A failed health check fails the step and prints the container's last log lines.
# HEALTH_HOST (default 127.0.0.1) is where /healthz answers: the address the gateway binds.
set -euo pipefail

usage="usage: deploy.sh NAME IMAGE ENV_FILE PORT HEALTH_TIMEOUT_SECONDS DATA_VOLUME [HEALTH_HOST]"
name="${1:?$usage}"
image="${2:?$usage}"
env_file="${3:?$usage}"
port="${4:?$usage}"
timeout="${5:?$usage}"
volume="${6:?$usage}"
health_url="http://${7:-127.0.0.1}:$port/healthz"
label="llm-cost-governance.config-hash"
log_lines=50

if [ ! -r "$env_file" ]; then
    echo "deploy: env file $env_file is missing; write-env.sh must run first" >&2
    exit 1
fi

want="$({ printf '%s\n' "$image" "$port" "$volume"; cat -- "$env_file"; } | sha256sum | cut -d' ' -f1)"
have="$(docker inspect --format "{{.State.Running}} {{index .Config.Labels \"$label\"}}" "$name" 2>/dev/null || true)"

if [ "$have" = "true $want" ]; then
    echo "deploy: $name already runs $image with this configuration"
else
    docker pull --quiet "$image" >/dev/null
    if docker inspect "$name" >/dev/null 2>&1; then
        # A graceful stop lets the gateway flush its usage ledger.
        docker stop --time 30 "$name" >/dev/null
        docker rm "$name" >/dev/null
    fi
    docker run --detach --name "$name" --restart unless-stopped --network host \
        --env-file "$env_file" --volume "$volume:/data" --label "$label=$want" "$image" >/dev/null
    echo "deploy: started $name from $image"
fi

deadline=$(($(date +%s) + timeout))
until curl --silent --fail --max-time 2 --output /dev/null "$health_url"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        echo "deploy: $name did not answer $health_url within ${timeout}s; last $log_lines log lines:" >&2
        docker logs --tail "$log_lines" "$name" 2>&1 | sed 's/^/    /' >&2 || true
        exit 1
    fi
    sleep 1
done
echo "deploy: $name is healthy on port $port"
