#!/usr/bin/env bash
# Verifies the GPU host can run the gateway before anything is written to it:
# Docker reachable by this user, the NVIDIA runtime registered, curl present for the health check.
set -euo pipefail

fail() {
    echo "preflight: $*" >&2
    exit 1
}

command -v docker >/dev/null 2>&1 || fail "docker is not installed"
command -v curl >/dev/null 2>&1 || fail "curl is not installed (the health check needs it)"
docker info >/dev/null 2>&1 || fail "the Docker daemon is not reachable by $(id -un) (add it to the docker group?)"
runtimes="$(docker info --format '{{json .Runtimes}}')"
case "$runtimes" in
    *'"nvidia"'*) ;;
    *) fail "the NVIDIA container runtime is not registered with Docker (install nvidia-container-toolkit)" ;;
esac
echo "preflight: docker and the nvidia runtime are ready"
