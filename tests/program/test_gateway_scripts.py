"""The remote scripts, run locally: a stand-in `docker` on PATH and a real HTTP health endpoint.

The containers cannot run here (no Docker engine, no GPU), so the stand-in records what the
scripts ask Docker to do, and a small local server plays the started container's health URL
(vLLM's /health, the gateway's /healthz, the proxy's https URL via curl --resolve).
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
        self.send_response(200 if self.path in ("/healthz", "/health") else 404)
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


GATEWAY_IMAGE = "ghcr.io/example-org/llm-gateway:0.1.0"


def deploy(host: Host, port: int, env_file: Path, timeout: int = 5, image: str = GATEWAY_IMAGE,
           health_host: str = "127.0.0.1", **env: str):
    """run-container.sh as GatewayHost runs the gateway step."""
    return host.run("run-container.sh", "--hash-file", env_file, "--revision", "r1", "llm-gateway", image,
                    f"http://{health_host}:{port}/healthz", timeout, "--restart", "unless-stopped",
                    "--network", "host", "--env-file", env_file, "--volume", "llm-gateway-data:/data", **env)


def write_env(host: Host, text: str = ENV_TEXT) -> Path:
    dest = host.root / "gw" / "gateway.env"
    result = host.run("write-file.sh", dest, "env", stdin=text)
    assert result.returncode == 0, result.stderr
    return dest


def no_secret_anywhere(host: Host, *results: subprocess.CompletedProcess[str], secret: str = SECRET) -> None:
    for result in results:
        assert secret not in result.stdout + result.stderr
    assert not [call for call in host.calls() if any(secret in arg for arg in call)]


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


# --- write-file.sh -----------------------------------------------------------------------------


def test_write_file_writes_0600_never_echoes_and_is_idempotent(host):
    dest = write_env(host)
    assert dest.read_text() == ENV_TEXT
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert stat.S_IMODE(dest.parent.stat().st_mode) == 0o700
    before = dest.stat().st_mtime_ns
    time.sleep(0.01)
    again = host.run("write-file.sh", dest, "env", stdin=ENV_TEXT)
    assert again.returncode == 0 and "unchanged (2 lines)" in again.stdout
    assert dest.stat().st_mtime_ns == before
    changed = host.run("write-file.sh", dest, "env", stdin=ENV_TEXT + "GATEWAY_HOST=127.0.0.1\n")
    assert "wrote" in changed.stdout and dest.read_text().endswith("GATEWAY_HOST=127.0.0.1\n")
    for result in (again, changed):
        assert SECRET not in result.stdout + result.stderr
    assert [p.name for p in dest.parent.iterdir()] == ["gateway.env"]  # no temp file left behind


@pytest.mark.parametrize(("kind", "text"), [
    ("env", ""), ("env", f"not an assignment {SECRET}\n"), ("env", f"A=1\n\nB={SECRET}\n"),
    ("pem", f"{SECRET}\n"), ("nonsense", f"A={SECRET}\n"),
])
def test_write_file_refuses_bad_input_without_echoing_it(host, kind, text):
    dest = host.root / "gw" / "file"
    result = host.run("write-file.sh", dest, kind, stdin=text)
    assert result.returncode != 0
    assert not dest.exists()
    assert SECRET not in result.stdout + result.stderr


def test_write_file_takes_a_pem_and_plain_text(host):
    pem = f"-----BEGIN PRIVATE KEY-----\n{SECRET}\n-----END PRIVATE KEY-----\n"
    key = host.root / "gw" / "tls" / "key.pem"
    result = host.run("write-file.sh", key, "pem", stdin=pem)
    assert result.returncode == 0 and key.read_text() == pem and SECRET not in result.stdout
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    caddyfile = host.root / "gw" / "Caddyfile"
    assert host.run("write-file.sh", caddyfile, "text", stdin="a {\n}\n").returncode == 0


# --- run-container.sh --------------------------------------------------------------------------


def test_run_container_pulls_runs_and_waits_for_health(host, healthy_port):
    env_file = write_env(host)
    result = deploy(host, healthy_port, env_file)
    assert result.returncode == 0, result.stderr
    assert f"llm-gateway is healthy (http://127.0.0.1:{healthy_port}/healthz)" in result.stdout
    commands = [call[0] for call in host.calls()]
    assert commands.count("pull") == 1 and commands.count("run") == 1
    container = host.containers()["llm-gateway"]
    assert container["image"] == GATEWAY_IMAGE
    assert (container["restart"], container["network"]) == ("unless-stopped", "host")
    assert container["volume"] == "llm-gateway-data:/data"
    assert container["env"] == ENV_TEXT
    no_secret_anywhere(host, result)


def test_run_container_twice_changes_nothing(host, healthy_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    calls_before = len(host.calls())
    second = deploy(host, healthy_port, env_file)
    assert second.returncode == 0 and "already runs" in second.stdout
    new_commands = {call[0] for call in host.calls()[calls_before:]}
    assert new_commands == {"inspect"}


def test_a_changed_env_file_restarts_gracefully_and_drops_the_previous_container(host, healthy_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    first_label = host.containers()["llm-gateway"]["labels"]
    write_env(host, ENV_TEXT + "SERVERLESS_RATIO=0.5\n")
    calls_before = len(host.calls())
    result = deploy(host, healthy_port, env_file)
    assert result.returncode == 0, result.stderr
    commands = [call[0] for call in host.calls()[calls_before:]]
    assert commands.index("stop") < commands.index("rename") < commands.index("run") < commands.index("rm")
    assert ["stop", "--time", "30", "llm-gateway"] in host.calls()
    assert host.containers()["llm-gateway"]["labels"] != first_label
    assert set(host.containers()) == {"llm-gateway"}  # the kept copy is gone once the new one is healthy


def test_a_failed_health_check_prints_the_last_log_lines_and_restores_the_previous_container(
        host, healthy_port, dead_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    logs = "\n".join(f"gateway log line {i}" for i in range(1, 81))
    started = time.monotonic()
    result = deploy(host, dead_port, env_file, timeout=2, image="ghcr.io/example-org/llm-gateway:0.2.0",
                    STANDIN_DOCKER_LOGS=logs)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert f"did not answer http://127.0.0.1:{dead_port}/healthz within 2s" in result.stderr
    assert "gateway log line 80" in result.stderr and "gateway log line 31" in result.stderr
    assert "gateway log line 30\n" not in result.stderr  # only the last 50 lines
    assert "rolled back: the previous llm-gateway runs again" in result.stderr
    assert elapsed < 15
    containers = host.containers()
    assert set(containers) == {"llm-gateway"}
    assert containers["llm-gateway"]["image"] == GATEWAY_IMAGE and containers["llm-gateway"]["running"]


def test_a_container_that_exits_fails_at_once_and_rolls_back(host, healthy_port, dead_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    started = time.monotonic()
    result = deploy(host, dead_port, env_file, timeout=60, image="ghcr.io/example-org/llm-gateway:bad",
                    STANDIN_DOCKER_EXITS="1", STANDIN_DOCKER_LOGS="Traceback: config error")
    assert time.monotonic() - started < 10  # not the whole 60 s health budget
    assert result.returncode == 1 and "exited before answering" in result.stderr
    assert "Traceback: config error" in result.stderr
    assert host.containers()["llm-gateway"]["image"] == GATEWAY_IMAGE
    assert host.containers()["llm-gateway"]["running"]


def test_docker_refusing_to_start_the_container_rolls_back(host, healthy_port):
    env_file = write_env(host)
    assert deploy(host, healthy_port, env_file).returncode == 0
    result = deploy(host, healthy_port, env_file, image="ghcr.io/example-org/llm-gateway:0.2.0",
                    STANDIN_DOCKER_RUN_FAILS="1")
    assert result.returncode == 1 and "docker could not start llm-gateway" in result.stderr
    assert host.containers()["llm-gateway"]["image"] == GATEWAY_IMAGE


def test_a_first_start_that_fails_leaves_nothing_behind(host, dead_port):
    result = deploy(host, dead_port, write_env(host), timeout=1)
    assert result.returncode == 1 and "rolled back" not in result.stderr
    assert host.containers() == {}


def test_the_health_wait_prints_progress(host, dead_port):
    env_file = write_env(host)
    result = host.run("run-container.sh", "--progress-every", 1, "--hash-file", env_file, "llm-model-server",
                      "vllm/vllm-openai:v0", f"http://127.0.0.1:{dead_port}/health", 3,
                      "--env-file", env_file, timeout=40)
    assert result.returncode == 1
    assert "waiting for llm-model-server at" in result.stdout and "of 3s)" in result.stdout


def test_the_model_server_gets_its_gpu_flags_and_arguments_and_the_token_stays_in_its_env_file(
        host, healthy_port):
    env_file = host.root / "gw" / "model-server.env"
    assert host.run("write-file.sh", env_file, "env", stdin=f"HF_TOKEN={SECRET}\n").returncode == 0
    result = host.run("run-container.sh", "--hash-file", env_file, "llm-model-server", "vllm/vllm-openai:v0",
                      f"http://127.0.0.1:{healthy_port}/health", 5, "--runtime", "nvidia", "--gpus", "all",
                      "--ipc", "host", "--network", "host", "--env-file", env_file,
                      "--volume", "llm-model-cache:/root/.cache/huggingface",
                      "--", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--port", healthy_port)
    assert result.returncode == 0, result.stderr
    container = host.containers()["llm-model-server"]
    assert (container["runtime"], container["gpus"], container["ipc"]) == ("nvidia", "all", "host")
    assert container["args"] == ["--model", "meta-llama/Llama-3.1-8B-Instruct", "--port", str(healthy_port)]
    assert container["env"] == f"HF_TOKEN={SECRET}\n"
    no_secret_anywhere(host, result)


def test_the_proxy_health_check_asks_the_public_name_on_this_host(host, healthy_port):
    caddyfile = host.root / "gw" / "Caddyfile"
    assert host.run("write-file.sh", caddyfile, "text", stdin="gateway.example.test {\n}\n").returncode == 0
    result = host.run("run-container.sh", "--resolve", f"gateway.example.test:{healthy_port}:127.0.0.1",
                      "--hash-file", caddyfile, "llm-proxy", "caddy:2.10",
                      f"http://gateway.example.test:{healthy_port}/healthz", 5, "--network", "host",
                      "--volume", f"{caddyfile}:/etc/caddy/Caddyfile:ro")
    assert result.returncode == 0, result.stderr
    changed = host.run("write-file.sh", caddyfile, "text", stdin="gateway.example.test {\n\ttls a b\n}\n")
    assert changed.returncode == 0
    calls_before = len(host.calls())
    again = host.run("run-container.sh", "--resolve", f"gateway.example.test:{healthy_port}:127.0.0.1",
                     "--hash-file", caddyfile, "llm-proxy", "caddy:2.10",
                     f"http://gateway.example.test:{healthy_port}/healthz", 5, "--network", "host")
    assert again.returncode == 0 and "run" in [c[0] for c in host.calls()[calls_before:]]


def test_run_container_without_its_file_fails_clearly(host, healthy_port):
    result = deploy(host, healthy_port, host.root / "missing.env")
    assert result.returncode == 1 and "the step that writes it must run first" in result.stderr
    assert host.calls() == []


def test_stop_removes_the_container_and_is_idempotent(host, healthy_port):
    assert deploy(host, healthy_port, write_env(host)).returncode == 0
    first = host.run("stop.sh", "llm-gateway")
    assert first.returncode == 0 and "removed llm-gateway" in first.stdout
    assert host.containers() == {}
    second = host.run("stop.sh", "llm-gateway")
    assert second.returncode == 0 and "not present" in second.stdout


def test_run_container_recreates_a_container_that_stopped(host, healthy_port):
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
        result = deploy(host, server.server_address[1], write_env(host), timeout=2, health_host="127.0.0.2")
    finally:
        server.shutdown()
        server.server_close()
    assert result.returncode == 0, result.stderr
    assert "is healthy" in result.stdout


def test_the_programs_own_commands_bring_up_model_server_then_gateway_and_rerun_idempotently(host, tmp_path):
    """GatewayHost's argv, exactly as it builds them, run through the real scripts on a fake host."""
    from components.gateway_env import render_env_file
    from components.gateway_host import Paths, gateway_argv, model_server_argv, model_server_env, revision
    from components.settings import parse_settings
    from tests.program.harness import REGION, project_config

    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Health) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    model_port, gateway_port = (s.server_address[1] for s in servers)
    try:
        remote = tmp_path / "remote"
        raw = {**project_config("prod"), "gpuBaseUrl": f"http://127.0.0.1:{model_port}/v1",
               "gatewayPort": str(gateway_port), "gatewayRemoteDir": str(remote)}
        settings = parse_settings("prod", REGION, raw)
        g, paths = settings.gateway, Paths.under(str(remote))
        (remote / "bin").mkdir(parents=True)
        for script in SCRIPTS:  # what the CopyToRemote steps do
            shutil.copy(SCRIPTS_DIR / script, paths.script(script))
        model_env = model_server_env(SECRET)
        gateway_env = render_env_file(settings, client_tokens="client-token-0123456789",
                                      admin_token=SECRET, serverless_api_key="sk-serverless-0123")
        for dest, text in ((paths.model_server_env, model_env), (paths.gateway_env, gateway_env)):
            assert host.run("write-file.sh", dest, "env", stdin=text).returncode == 0
        steps = [model_server_argv(g, paths, revision(model_env)),
                 gateway_argv(g, paths, revision(gateway_env))]

        def up() -> list[subprocess.CompletedProcess[str]]:
            return [subprocess.run(argv, capture_output=True, text=True, env=host.env, timeout=60,
                                   check=False) for argv in steps]

        first = up()
        assert [r.returncode for r in first] == [0, 0], [r.stderr for r in first]
        runs = [call for call in host.calls() if call[0] == "run"]
        assert [call[call.index("--name") + 1] for call in runs] == ["llm-model-server", "llm-gateway"]
        model = host.containers()["llm-model-server"]
        assert (model["runtime"], model["gpus"], model["network"]) == ("nvidia", "all", "host")
        assert model["args"][:2] == ["--model", "meta-llama/Llama-3.1-8B-Instruct"]
        assert f"HF_TOKEN={SECRET}\n" in model["env"]
        calls_before = len(host.calls())
        again = up()
        assert all("already runs" in r.stdout for r in again)
        assert {call[0] for call in host.calls()[calls_before:]} == {"inspect"}
        no_secret_anywhere(host, *first, *again)
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
