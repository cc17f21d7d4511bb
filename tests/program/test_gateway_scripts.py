"""The remote scripts, run locally: a stand-in `docker` on PATH and a real HTTP health endpoint.

The gateway container cannot run here (no Docker engine, no GPU), so the stand-in records what
the scripts ask Docker to do, and a small local server plays the container's /healthz.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from components.gateway_host import SCRIPTS, SCRIPTS_DIR

STANDIN = Path(__file__).with_name("standin_docker.py")
SECRET = "esc-script-secret-91d0"
ENV_TEXT = f"GATEWAY_ADMIN_TOKEN={SECRET}\nGATEWAY_PORT=8080\n"


class Host:
    """A fake GPU host: a bin dir with the stand-in docker first on PATH, and its state."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir()
        docker = self.bin / "docker"
        docker.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{STANDIN}" "$@"\n')
        docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
        self.state = root / "docker-state.json"
        self.env = {"PATH": f"{self.bin}:{os.environ['PATH']}", "STANDIN_DOCKER_STATE": str(self.state),
                    "HOME": str(root)}

    def run(self, script: str, *args: object, stdin: str = "", timeout: float = 30,
            **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["bash", str(SCRIPTS_DIR / script), *map(str, args)], input=stdin,
                              capture_output=True, text=True, env={**self.env, **env}, timeout=timeout,
                              check=False)

    def calls(self) -> list[list[str]]:
        path = self.state.with_suffix(".calls")
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def containers(self) -> dict:
        return json.loads(self.state.read_text())["containers"] if self.state.exists() else {}


class Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()
        self.wfile.write(b'{"status":"ok"}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def host(tmp_path: Path) -> Host:
    return Host(tmp_path)


@pytest.fixture
def healthy_port():
    """A real HTTP server on 127.0.0.1 standing in for the started container's /healthz."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def deploy(host: Host, port: int, env_file: Path, timeout: int = 5, **env: str):
    return host.run("deploy.sh", "llm-gateway", "ghcr.io/example-org/llm-gateway:0.1.0", env_file, port,
                    timeout, "llm-gateway-data", **env)


def write_env(host: Host, text: str = ENV_TEXT) -> Path:
    dest = host.root / "gw" / "gateway.env"
    result = host.run("write-env.sh", dest, stdin=text)
    assert result.returncode == 0, result.stderr
    return dest


@pytest.mark.skipif(shutil.which("shellcheck") is None,
                    reason="shellcheck not installed (apt-get install shellcheck)")
def test_scripts_are_shellcheck_clean():
    result = subprocess.run(["shellcheck", *[str(SCRIPTS_DIR / s) for s in SCRIPTS]], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout


def test_preflight_passes_with_docker_and_the_nvidia_runtime(host):
    result = host.run("preflight.sh")
    assert result.returncode == 0, result.stderr
    assert "nvidia runtime are ready" in result.stdout


def test_preflight_fails_without_the_nvidia_runtime(host):
    result = host.run("preflight.sh", STANDIN_DOCKER_NO_NVIDIA="1")
    assert result.returncode == 1
    assert "NVIDIA container runtime is not registered" in result.stderr


def test_preflight_fails_when_the_daemon_is_unreachable(host):
    result = host.run("preflight.sh", STANDIN_DOCKER_DOWN="1")
    assert result.returncode == 1 and "Docker daemon is not reachable" in result.stderr


def test_preflight_fails_without_docker(host):
    result = subprocess.run(["/bin/bash", str(SCRIPTS_DIR / "preflight.sh")], capture_output=True, text=True,
                            env={"PATH": str(host.root / "empty")}, timeout=30, check=False)
    assert result.returncode == 1 and "docker is not installed" in result.stderr


def test_write_env_writes_0600_never_echoes_and_is_idempotent(host):
    dest = write_env(host)
    assert dest.read_text() == ENV_TEXT
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert stat.S_IMODE(dest.parent.stat().st_mode) == 0o700
    before = dest.stat().st_mtime_ns
    time.sleep(0.01)
    again = host.run("write-env.sh", dest, stdin=ENV_TEXT)
    assert again.returncode == 0 and "unchanged (2 variables)" in again.stdout
    assert dest.stat().st_mtime_ns == before
    changed = host.run("write-env.sh", dest, stdin=ENV_TEXT + "GATEWAY_HOST=127.0.0.1\n")
    assert "wrote" in changed.stdout and dest.read_text().endswith("GATEWAY_HOST=127.0.0.1\n")
    for result in (again, changed):
        assert SECRET not in result.stdout + result.stderr
    assert [p.name for p in dest.parent.iterdir()] == ["gateway.env"]  # no temp file left behind


@pytest.mark.parametrize("text", ["", f"not an assignment {SECRET}\n", f"A=1\n\nB={SECRET}\n"])
def test_write_env_refuses_bad_input_without_echoing_it(host, text):
    dest = host.root / "gw" / "gateway.env"
    result = host.run("write-env.sh", dest, stdin=text)
    assert result.returncode == 1
    assert not dest.exists()
    assert SECRET not in result.stdout + result.stderr


def test_deploy_pulls_runs_and_waits_for_health(host, healthy_port):
    env_file = write_env(host)
    result = deploy(host, healthy_port, env_file)
    assert result.returncode == 0, result.stderr
    assert f"healthy on port {healthy_port}" in result.stdout
    commands = [call[0] for call in host.calls()]
    assert commands.count("pull") == 1 and commands.count("run") == 1
    container = host.containers()["llm-gateway"]
    assert container["image"] == "ghcr.io/example-org/llm-gateway:0.1.0"
    assert (container["restart"], container["network"]) == ("unless-stopped", "host")
    assert container["volume"] == "llm-gateway-data:/data"
    assert container["env"] == ENV_TEXT
    assert SECRET not in result.stdout + result.stderr
    assert not [call for call in host.calls() if any(SECRET in arg for arg in call)]


def test_deploy_twice_changes_nothing(host, healthy_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    calls_before = len(host.calls())
    second = deploy(host, healthy_port, env_file)
    assert second.returncode == 0 and "already runs" in second.stdout
    new_commands = {call[0] for call in host.calls()[calls_before:]}
    assert new_commands == {"inspect"}


def test_deploy_restarts_gracefully_when_the_env_file_changes(host, healthy_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    first_label = host.containers()["llm-gateway"]["labels"]
    write_env(host, ENV_TEXT + "SERVERLESS_RATIO=0.5\n")
    calls_before = len(host.calls())
    result = deploy(host, healthy_port, env_file)
    assert result.returncode == 0, result.stderr
    commands = [call[0] for call in host.calls()[calls_before:]]
    assert commands.index("stop") < commands.index("rm") < commands.index("run")
    assert ["stop", "--time", "30", "llm-gateway"] in host.calls()
    assert host.containers()["llm-gateway"]["labels"] != first_label


def test_failed_health_check_fails_with_the_last_log_lines_within_the_timeout(host, dead_port):
    env_file = write_env(host)
    logs = "\n".join(f"gateway log line {i}" for i in range(1, 81))
    started = time.monotonic()
    result = deploy(host, dead_port, env_file, timeout=2, STANDIN_DOCKER_LOGS=logs)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"did not answer http://127.0.0.1:{dead_port}/healthz within 2s" in result.stderr
    assert "gateway log line 80" in result.stderr and "gateway log line 31" in result.stderr
    assert "gateway log line 30\n" not in result.stderr  # only the last 50 lines
    assert elapsed < 15


def test_deploy_without_env_file_fails_clearly(host, healthy_port):
    result = deploy(host, healthy_port, host.root / "missing.env")
    assert result.returncode == 1 and "write-env.sh must run first" in result.stderr
    assert host.calls() == []


def test_stop_removes_the_container_and_is_idempotent(host, healthy_port):
    assert deploy(host, healthy_port, write_env(host)).returncode == 0
    first = host.run("stop.sh", "llm-gateway")
    assert first.returncode == 0 and "removed llm-gateway" in first.stdout
    assert host.containers() == {}
    second = host.run("stop.sh", "llm-gateway")
    assert second.returncode == 0 and "not present" in second.stdout


def test_deploy_recreates_a_container_that_stopped(host, healthy_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    state = json.loads(host.state.read_text())
    state["containers"]["llm-gateway"]["running"] = False  # crashed, or stopped by hand
    host.state.write_text(json.dumps(state))
    calls_before = len(host.calls())
    result = deploy(host, healthy_port, env_file)
    assert result.returncode == 0 and "started llm-gateway" in result.stdout
    assert [c[0] for c in host.calls()[calls_before:]].count("run") == 1
    assert host.containers()["llm-gateway"]["running"] is True


def test_the_health_check_asks_the_address_the_gateway_binds(host):
    """gatewayBindAddress may be one interface (not loopback): /healthz must be asked there."""
    try:
        server = ThreadingHTTPServer(("127.0.0.2", 0), Health)  # any 127/8 address is loopback on Linux
    except OSError:
        pytest.skip("127.0.0.2 is not a local address here (only Linux routes all of 127/8)")
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        env_file = write_env(host)
        result = host.run("deploy.sh", "llm-gateway", "ghcr.io/example-org/llm-gateway:0.1.0", env_file,
                          server.server_address[1], 2, "llm-gateway-data", "127.0.0.2")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert "is healthy" in result.stdout
