"""The integration job's own moto steps, run here as GitHub would run them (bash -e).

The "Start the moto server" step must leave a moto server answering on 127.0.0.1, the inventory
check must read it, and the "Stop the moto server" step must end it: nothing outlives the job.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
STEPS = {step.get("name"): step for step in
         yaml.safe_load((ROOT / ".github/workflows/integration.yml").read_text())["jobs"]
         ["up-destroy-against-moto"]["steps"]}

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="the step polls with curl")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _step(name: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-e", "-c", STEPS[name]["run"]], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_start_inventory_and_stop_steps(tmp_path):
    port = _free_port()
    env = {**os.environ, "MOTO_PORT": str(port), "RUNNER_TEMP": str(tmp_path),
           "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1"}
    started = _step("Start the moto server on 127.0.0.1", env)
    pid = int((tmp_path / "moto.pid").read_text()) if (tmp_path / "moto.pid").exists() else None
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        assert pid and _alive(pid)
        endpoint = f"http://127.0.0.1:{port}"
        sns = boto3.client("sns", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="local", aws_secret_access_key="local")
        sns.create_topic(Name="left-over")
        inventory = [sys.executable, ".github/scripts/moto_inventory.py", "--endpoint-url", endpoint,
                     "--expect", "destroyed"]
        check = subprocess.run(inventory, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                               check=False)
        assert check.returncode == 1 and "sns_topics: 1 left after destroy" in check.stderr
        stopped = _step("Stop the moto server", env)
        assert stopped.returncode == 0, stopped.stderr
        for _ in range(50):
            if not _alive(pid):
                break
            subprocess.run(["sleep", "0.1"], check=True)
        assert not _alive(pid)
    finally:
        if pid and _alive(pid):
            os.kill(pid, signal.SIGKILL)


def _written_env(tmp_path: Path, run: str) -> tuple[dict[str, str], str]:
    github_env = tmp_path / f"github_env_{run}"
    result = _step("Throwaway credentials and a local file backend",
                   {**os.environ, "RUNNER_TEMP": str(tmp_path), "GITHUB_ENV": str(github_env)})
    assert result.returncode == 0, result.stderr
    return dict(line.split("=", 1) for line in github_env.read_text().splitlines()), result.stdout


def test_throwaway_credentials_are_random_masked_and_local(tmp_path):
    first, stdout = _written_env(tmp_path, "a")
    second, _ = _written_env(tmp_path, "b")
    assert first["PULUMI_BACKEND_URL"] == f"file://{tmp_path}/pulumi-state"
    assert (tmp_path / "pulumi-state").is_dir()
    assert f"::add-mask::{first['PULUMI_CONFIG_PASSPHRASE']}" in stdout  # never shown in the log
    for key in ("PULUMI_CONFIG_PASSPHRASE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert len(first[key]) >= 16 and first[key] != second[key]


STANDIN_PULUMI = '''#!{python}
"""Stand-in for the Pulumi CLI (it cannot be installed here): records each call and its stdin."""
import json, os, sys
from pathlib import Path

args = sys.argv[1:]
stdin = "" if sys.stdin.isatty() else sys.stdin.read()
with Path(os.environ["PULUMI_STANDIN_LOG"]).open("a") as log:
    log.write(json.dumps({{"args": args, "stdin": stdin}}) + "\\n")
if args[:2] == ["stack", "init"]:
    Path(f"Pulumi.{{args[2]}}.yaml").write_text("encryptionsalt: v1:standin\\n")
'''


def test_stack_step_writes_settings_then_sets_secrets_from_stdin(tmp_path):
    work = tmp_path / "repo"
    work.mkdir()
    for name in (".venv", ".github"):
        (work / name).symlink_to(ROOT / name)
    shutil.copy(ROOT / "Pulumi.staging.yaml", work)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(STANDIN_PULUMI.format(python=sys.executable))
    (bin_dir / "pulumi").chmod(0o755)
    log = tmp_path / "calls.jsonl"
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "PULUMI_STANDIN_LOG": str(log),
           "STACK": "integration-staging", "MOTO_PORT": "5999", "AWS_REGION": "us-east-1"}
    script = STEPS["Stack with the staging settings, without ESC"]["run"]
    result = subprocess.run(["bash", "-e", "-c", script], cwd=work, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert calls[0]["args"][:3] == ["stack", "init", "integration-staging"]
    secret_calls = [c for c in calls if c["args"][:3] == ["config", "set", "--secret"]]
    # Each secret is named on the command line and its value arrives on stdin, never in argv.
    assert [c["args"][3:] for c in secret_calls] == [["gatewayAdminToken"], ["lambdaApiKey"]]
    values = [c["stdin"].strip() for c in secret_calls]
    assert all(len(value) == 48 for value in values) and values[0] != values[1]
    stack = yaml.safe_load((work / "Pulumi.integration-staging.yaml").read_text())
    assert stack["encryptionsalt"] == "v1:standin" and "environment" not in stack
    assert stack["config"]["aws:endpoints"] == [{service: "http://127.0.0.1:5999" for service in
                                                 stack["config"]["aws:endpoints"][0]}]
