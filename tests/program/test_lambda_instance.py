"""The Lambda Cloud instance provider against a local stand-in of the API (real HTTP on 127.0.0.1),
with a stand-in `ssh-keyscan` on PATH; and the program's wiring under mocks when launchInstance is on."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from components.lambda_instance import LambdaCloudError, LambdaInstanceProvider
from standins.lambda_cloud import lambda_cloud_standin
from tests.program.harness import (
    ESC_STAND_IN,
    LAUNCHED_INSTANCE,
    is_secret,
    project_config,
    reveal,
    run_program,
)

API_KEY = "secret_lambda-launch-key-5e1b"
HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandInLaunchedHostKey"
DYNAMIC = "pulumi-python:dynamic:Resource"


@pytest.fixture
def keyscan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in ssh-keyscan: prints the host's key line for the address it is asked (its last arg)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ssh-keyscan"
    script.write_text(f'#!/bin/sh\nfor a; do host="$a"; done\necho "# $host:22 SSH-2.0-OpenSSH_9.6"\n'
                      f'echo "$host {HOST_KEY}"\necho "$@" >> "{tmp_path}/keyscan.calls"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "keyscan.calls"


@pytest.fixture
def api():
    with lambda_cloud_standin(API_KEY, {"gpu_1x_a10": 75}) as standin:
        yield standin


def props(api, **overrides) -> dict:
    return {"api_url": api.url, "api_key": API_KEY, "instance_type": "gpu_1x_a10", "region": "us-east-1",
            "ssh_key_name": "ops-deploy", "name": "llm-cost-governance-prod-gpu", "boot_timeout_seconds": 5,
            "poll_seconds": 0.01, "keyscan_timeout_seconds": 1, **overrides}


def test_create_launches_waits_until_active_and_pins_the_host_key(api, keyscan):
    api.boot_polls = 3
    result = LambdaInstanceProvider().create(props(api))
    (launch,) = api.launches
    assert launch == {"region_name": "us-east-1", "instance_type_name": "gpu_1x_a10",
                      "ssh_key_names": ["ops-deploy"], "quantity": 1, "name": "llm-cost-governance-prod-gpu"}
    assert result.id == next(iter(api.instances))
    assert result.outs["ip"] == api.instances[result.id]["ip"] and result.outs["status"] == "active"
    assert result.outs["host_key"] == HOST_KEY
    assert result.outs["launched_at"].endswith("+00:00")
    assert api.requests.count(f"/api/v1/instances/{result.id}") == 4  # 3 booting reads, then active
    assert keyscan.read_text().split()[-1] == result.outs["ip"]


def test_read_follows_the_instance_and_a_vanished_one_reads_as_gone(api, keyscan):
    provider = LambdaInstanceProvider()
    created = provider.create(props(api))
    read = provider.read(created.id, created.outs)
    assert read.id == created.id and read.outs["ip"] == created.outs["ip"]
    api.vanish(created.id)
    gone = provider.read(created.id, created.outs)
    assert gone.id is None  # refresh drops it from state; the next up launches a new one


def test_delete_terminates_and_a_second_delete_or_a_vanished_instance_is_fine(api, keyscan):
    provider = LambdaInstanceProvider()
    created = provider.create(props(api))
    provider.delete(created.id, created.outs)
    assert api.instances[created.id]["status"] == "terminated"
    provider.delete(created.id, created.outs)  # already gone: not an error


def test_a_failed_launch_fails_with_the_api_error_and_never_the_key(api, keyscan):
    api.launch_error = (400, "instance-operations/launch/insufficient-capacity",
                        "Not enough capacity to fulfill launch request.")
    with pytest.raises(LambdaCloudError) as info:
        LambdaInstanceProvider().create(props(api))
    message = str(info.value)
    assert "HTTP 400: instance-operations/launch/insufficient-capacity: Not enough capacity" in message
    assert "gpu_1x_a10 in us-east-1" in message and API_KEY not in message
    assert api.instances == {}


@pytest.mark.parametrize("how", ["unhealthy", "timeout", "no host key"])
def test_an_instance_that_never_becomes_usable_is_terminated(api, keyscan, how, tmp_path):
    overrides: dict = {}
    if how == "unhealthy":
        api.boot_status = "unhealthy"
    elif how == "timeout":
        api.boot_polls, overrides = 10_000, {"boot_timeout_seconds": 0.2}
    else:
        (tmp_path / "bin" / "ssh-keyscan").write_text("#!/bin/sh\nexit 1\n")
        overrides = {"keyscan_timeout_seconds": 0}
    with pytest.raises(LambdaCloudError):
        LambdaInstanceProvider().create(props(api, **overrides))
    (instance,) = api.instances.values()
    assert instance["status"] == "terminated"  # nothing left billing by the hour


def test_a_wrong_api_key_is_named_by_its_code_not_its_value(api, keyscan):
    with pytest.raises(LambdaCloudError, match="global/invalid-api-key") as info:
        LambdaInstanceProvider().create(props(api, api_key="wrong-key-0c1d"))
    assert "wrong-key-0c1d" not in str(info.value)


def test_an_unreachable_api_fails_clearly():
    with pytest.raises(LambdaCloudError, match="unreachable"):
        LambdaInstanceProvider().create({"api_url": "http://127.0.0.1:9/api/v1", "api_key": API_KEY,
                                         "instance_type": "gpu_1x_a10", "region": "us-east-1",
                                         "ssh_key_name": "k", "name": "n", "boot_timeout_seconds": 1,
                                         "poll_seconds": 0.01, "keyscan_timeout_seconds": 0})


def test_diff_replaces_the_instance_only_for_what_defines_it(api):
    provider, old = LambdaInstanceProvider(), props(api)
    assert provider.diff("i", old, dict(old)).changes is False
    moved = provider.diff("i", old, {**old, "instance_type": "gpu_1x_a100"})
    assert moved.changes and moved.replaces == ["instance_type"] and moved.delete_before_replace
    rotated = provider.diff("i", old, {**old, "api_key": "rotated"})
    assert rotated.changes and not rotated.replaces
    updated = provider.update("i", {**old, "ip": "1.2.3.4"}, {**old, "api_key": "rotated"})
    assert updated.outs["ip"] == "1.2.3.4" and updated.outs["api_key"] == "rotated"


# --- the program with launchInstance -----------------------------------------------------------


LAUNCH = {"launchInstance": "true", "lambdaRegion": "us-east-1", "lambdaSshKeyName": "ops-deploy",
          "gatewayHost": None, "gatewayHostKey": None}


def test_the_program_launches_the_host_and_wires_its_ip_host_key_and_launch_time():
    run = run_program("prod", LAUNCH)
    (instance,) = run.of_type(DYNAMIC)
    assert instance.name == "gpu-host-instance"
    assert (instance.inputs["instance_type"], instance.inputs["region"], instance.inputs["ssh_key_name"]) == (
        project_config("prod")["gpuInstanceType"], "us-east-1", "ops-deploy")
    assert instance.inputs["api_url"] == "https://cloud.lambda.ai/api/v1"
    assert is_secret(instance.inputs["api_key"])
    assert reveal(instance.inputs["api_key"]) == ESC_STAND_IN["prod"]["lambdaApiKey"]
    for step in [r for r in run.resources if r.typ.startswith("command:remote:")]:
        connection = reveal(step.inputs["connection"])
        assert (connection["host"], connection["hostKey"]) == (LAUNCHED_INSTANCE["ip"],
                                                               LAUNCHED_INSTANCE["host_key"]), step.name
    variables = run.one("aws:lambda/function:Function", "cost-tracker").inputs["environment"]["variables"]
    assert variables["GPU_HOST_STARTED_AT"] == LAUNCHED_INSTANCE["launched_at"]
    assert run.outputs["gpuHostIp"] == LAUNCHED_INSTANCE["ip"]
    assert run.outputs["gpuHostLaunchedAt"] == LAUNCHED_INSTANCE["launched_at"]


def test_without_launch_instance_no_instance_is_declared(run):
    assert run.of_type(DYNAMIC) == []
    assert "gpuHostIp" not in run.outputs
