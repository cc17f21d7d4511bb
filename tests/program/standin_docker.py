"""Stand-in for the `docker` CLI (no Docker engine exists here), for testing the remote scripts.

Keeps containers in a JSON state file and appends every invocation to a calls file, so a test can
see exactly what a script did. Environment:
  STANDIN_DOCKER_STATE   path of the JSON state file (required)
  STANDIN_DOCKER_NO_NVIDIA=1   `docker info` lists no nvidia runtime
  STANDIN_DOCKER_DOWN=1        the daemon is unreachable
  STANDIN_DOCKER_LOGS          text `docker logs` prints (the container's output)
  STANDIN_DOCKER_EXITS=1       a container `docker run` starts exits at once (crashes on start)
  STANDIN_DOCKER_RUN_FAILS=1   `docker run` itself fails (e.g. a bad flag or a busy port)
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

STATE = Path(os.environ["STANDIN_DOCKER_STATE"])


def load() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {"containers": {}, "images": []}


def save(state: dict) -> None:
    STATE.write_text(json.dumps(state))


def flags(argv: list[str], with_value: set[str]) -> tuple[dict[str, list[str]], list[str]]:
    found: dict[str, list[str]] = {}
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in with_value:
            found.setdefault(arg, []).append(argv[i + 1])
            i += 2
        elif arg.startswith("--"):
            found.setdefault(arg, []).append("")
            i += 1
        else:
            positional.append(arg)
            i += 1
    return found, positional


RUN_FLAGS = {"--name", "--restart", "--network", "--env-file", "--volume", "--label", "--runtime", "--gpus",
             "--ipc", "--publish", "--shm-size"}


def run_args(argv: list[str]) -> tuple[dict[str, list[str]], str, list[str]]:
    """docker run's own options, the image, and the container's arguments (after the image)."""
    found: dict[str, list[str]] = {}
    i = 0
    while argv[i].startswith("--"):
        if argv[i] in RUN_FLAGS:
            found.setdefault(argv[i], []).append(argv[i + 1])
            i += 2
        else:
            found.setdefault(argv[i], []).append("")
            i += 1
    return found, argv[i], argv[i + 1:]


def fail(message: str) -> int:
    print(message, file=sys.stderr)
    return 1


def main(argv: list[str]) -> int:
    with STATE.with_suffix(".calls").open("a") as calls:
        calls.write(json.dumps(argv) + "\n")
    if os.environ.get("STANDIN_DOCKER_DOWN") == "1":
        return fail("Cannot connect to the Docker daemon at unix:///var/run/docker.sock")
    state = load()
    containers = state["containers"]
    command, rest = argv[0], argv[1:]
    if command == "info":
        if "--format" in rest:
            runtimes = {"io.containerd.runc.v2": {"path": "runc"}, "runc": {"path": "runc"}}
            if os.environ.get("STANDIN_DOCKER_NO_NVIDIA") != "1":
                runtimes["nvidia"] = {"path": "nvidia-container-runtime"}
            print(json.dumps(runtimes))
        else:
            print("Server Version: stand-in")
        return 0
    if command == "inspect":
        opts, names = flags(rest, {"--format"})
        container = containers.get(names[0])
        if container is None:
            return fail(f"Error: No such object: {names[0]}")
        form = opts.get("--format", [""])[0]
        label = re.search(r'index \.Config\.Labels "([^"]+)"', form)
        running = "true" if container["running"] else "false"
        if form == "{{.State.Running}}":
            print(running)
        else:
            labelled = container["labels"].get(label.group(1), "") if label else None
            print(f"{running} {labelled}" if label else json.dumps(container))
        return 0
    if command == "pull":
        _, names = flags(rest, set())
        state["images"].append(names[0])
    elif command == "run":
        if os.environ.get("STANDIN_DOCKER_RUN_FAILS") == "1":
            return fail("docker: Error response from daemon: driver failed programming external connectivity")
        opts, image, args = run_args(rest)
        name = opts["--name"][0]
        if name in containers:
            return fail(f'Conflict. The container name "/{name}" is already in use')
        env_files = [Path(f) for f in opts.get("--env-file", [])]
        for env_file in env_files:
            if not env_file.is_file():
                return fail(f"open {env_file}: no such file or directory")
        labels = dict(item.split("=", 1) for item in opts.get("--label", []))
        one = {flag.removeprefix("--"): values[0] for flag, values in opts.items()}
        containers[name] = {**{k: "" for k in ("restart", "network", "volume", "runtime", "gpus", "ipc")},
                            **one, "image": image, "args": args, "labels": labels,
                            "running": os.environ.get("STANDIN_DOCKER_EXITS") != "1",
                            "volumes": opts.get("--volume", []),
                            "env": "".join(f.read_text() for f in env_files)}
        print("0123456789ab")
    elif command == "rename":
        old, new = rest
        if old not in containers:
            return fail(f"Error: No such container: {old}")
        if new in containers:
            return fail(f'Conflict. The container name "/{new}" is already in use')
        containers[new] = containers.pop(old)
    elif command == "start":
        if rest[0] not in containers:
            return fail(f"Error: No such container: {rest[0]}")
        containers[rest[0]]["running"] = True
    elif command == "stop":
        _, names = flags(rest, {"--time"})
        if names[0] not in containers:
            return fail(f"Error: No such container: {names[0]}")
        containers[names[0]]["running"] = False
    elif command == "rm":
        opts, names = flags(rest, set())
        container = containers.get(names[0])
        if container is None:
            return fail(f"Error: No such container: {names[0]}")
        if container["running"] and "--force" not in opts:
            return fail("Error: cannot remove a running container; stop it first or use --force")
        del containers[names[0]]
    elif command == "logs":
        opts, names = flags(rest, {"--tail"})
        if names[0] not in containers:
            return fail(f"Error: No such container: {names[0]}")
        lines = os.environ.get("STANDIN_DOCKER_LOGS", "").splitlines()
        print("\n".join(lines[-int(opts.get("--tail", ["100000"])[0]):]))
    else:
        return fail(f"stand-in docker: unsupported command {command}")
    save(state)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
