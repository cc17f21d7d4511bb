#!/usr/bin/env bash
# Runs one of the host's containers (model server, gateway or TLS proxy) and waits, bounded, for
# its health URL, printing progress (a first model server start downloads the weights: minutes).
# Idempotent: when the container already runs with this image, these options and these files'
# contents, nothing is pulled or restarted.
# Rollback: the running container is stopped and kept as NAME-previous while the new one starts;
# if the new one exits or never answers, its last log lines are printed, it is removed, and the
# previous one runs again, so a failed `pulumi up` leaves the host as it was.
#
# usage: run-container.sh [--resolve HOST:PORT:ADDR] [--hash-file FILE]... [--revision R]
#            NAME IMAGE HEALTH_URL TIMEOUT_SECONDS [DOCKER_RUN_OPTION...] [-- CONTAINER_ARG...]
#   --resolve    passed to curl (ask the proxy's https URL on this host, with certificate checks)
#   --hash-file  a file the container reads (env file, Caddyfile, certificate): a change restarts it
#   --revision   not used here: it changes the command when a secret file changes, so Pulumi re-runs it
#   --progress-every  seconds between "waiting for ..." lines (default 10)
set -euo pipefail

usage="usage: run-container.sh [--resolve R] [--hash-file F]... NAME IMAGE HEALTH_URL TIMEOUT [OPTION...] [-- ARG...]"
resolve=()
hash_files=()
progress_every=10
while [ $# -gt 0 ]; do
    case "$1" in
        --resolve) resolve=(--resolve "${2:?$usage}"); shift 2 ;;
        --hash-file) hash_files+=("${2:?$usage}"); shift 2 ;;
        --revision) shift 2 ;;
        --progress-every) progress_every="${2:?$usage}"; shift 2 ;;
        *) break ;;
    esac
done
name="${1:?$usage}"
image="${2:?$usage}"
health_url="${3:?$usage}"
timeout="${4:?$usage}"
shift 4
run_options=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    run_options+=("$1")
    shift
done
if [ $# -gt 0 ]; then shift; fi
container_args=("$@")
previous="$name-previous"
label="llm-cost-governance.config-hash"
log_lines=50

for file in "${hash_files[@]}"; do
    if [ ! -r "$file" ]; then
        echo "run-container: $file is missing; the step that writes it must run first" >&2
        exit 1
    fi
done

config() {
    printf '%s\0' "$image" "${run_options[@]}" -- "${container_args[@]}"
    if [ "${#hash_files[@]}" -gt 0 ]; then cat -- "${hash_files[@]}"; fi
}
want="$(config | sha256sum | cut -d' ' -f1)"

healthy() {
    curl --silent --fail --max-time 2 --output /dev/null "${resolve[@]}" "$health_url"
}

running() {
    [ "$(docker inspect --format '{{.State.Running}}' "$name" 2>/dev/null || true)" = "true" ]
}

wait_healthy() {
    local started now next
    started="$(date +%s)"
    next=$((started + progress_every))
    until healthy; do
        now="$(date +%s)"
        if ! running; then
            echo "run-container: $name exited before answering $health_url" >&2
            return 1
        fi
        if [ $((now - started)) -ge "$timeout" ]; then
            echo "run-container: $name did not answer $health_url within ${timeout}s" >&2
            return 1
        fi
        if [ "$now" -ge "$next" ]; then
            echo "run-container: waiting for $name at $health_url ($((now - started))s of ${timeout}s)"
            next=$((now + progress_every))
        fi
        sleep 1
    done
}

show_logs() {
    echo "run-container: last $log_lines log lines of $name:" >&2
    docker logs --tail "$log_lines" "$name" 2>&1 | sed 's/^/    /' >&2 || true
}

# The new container failed: drop it and run the one it replaced again.
roll_back() {
    docker rm --force "$name" >/dev/null 2>&1 || true
    if [ "$kept" = 1 ]; then
        docker rename "$previous" "$name"
        docker start "$name" >/dev/null
        echo "run-container: rolled back: the previous $name runs again" >&2
    fi
    exit 1
}

have="$(docker inspect --format "{{.State.Running}} {{index .Config.Labels \"$label\"}}" "$name" 2>/dev/null || true)"
if [ "$have" = "true $want" ]; then
    echo "run-container: $name already runs $image with this configuration"
    if ! wait_healthy; then
        show_logs
        exit 1
    fi
    echo "run-container: $name is healthy ($health_url)"
    exit 0
fi

docker pull --quiet "$image" >/dev/null
kept=0
if docker inspect "$previous" >/dev/null 2>&1; then
    docker rm --force "$previous" >/dev/null
fi
if docker inspect "$name" >/dev/null 2>&1; then
    # A graceful stop lets the gateway flush its usage ledger.
    docker stop --time 30 "$name" >/dev/null
    docker rename "$name" "$previous"
    kept=1
fi
if ! docker run --detach --name "$name" --label "$label=$want" "${run_options[@]}" "$image" \
        "${container_args[@]}" >/dev/null; then
    echo "run-container: docker could not start $name from $image" >&2
    roll_back
fi
echo "run-container: started $name from $image"
if ! wait_healthy; then
    show_logs
    roll_back
fi
if [ "$kept" = 1 ]; then
    docker rm "$previous" >/dev/null
fi
echo "run-container: $name is healthy ($health_url)"
