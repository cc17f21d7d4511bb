"""GatewayHost under mocks: pinned host key, secrets only via stdin, safe replacement, hash triggers."""

from __future__ import annotations

import shlex

import pytest

from components.gateway_env import render_env_file
from components.gateway_host import CONTAINER_NAME, SCRIPTS, SCRIPTS_DIR
from components.settings import SettingsError, parse_settings
from gateway import env_names
from tests.program.harness import (
    ESC_STAND_IN,
    PROJECT,
    REGION,
    ProgramRun,
    is_secret,
    project_config,
    reveal,
    stack_config,
)

COMMAND = "command:remote:Command"
COPY = "command:remote:CopyToRemote"
REMOTE = "/home/ubuntu/llm-gateway"  # the default gatewayRemoteDir for gatewayUser ubuntu


def remote_resources(run: ProgramRun) -> list:
    return [r for r in run.resources if r.typ.startswith("command:remote:")]


def test_every_connection_pins_the_host_key_and_uses_the_esc_private_key(run):
    config = stack_config(run.stack)
    resources = remote_resources(run)
    assert len(resources) == len(SCRIPTS) + 4  # dirs, preflight, env file, container
    for resource in resources:
        connection = resource.inputs["connection"]
        if is_secret(connection):  # the private key makes the whole object secret
            connection = reveal(connection)
        assert connection["hostKey"] == config[f"{PROJECT}:gatewayHostKey"], resource.name
        assert connection["host"] == config[f"{PROJECT}:gatewayHost"]
        assert connection["user"] == config[f"{PROJECT}:gatewayUser"]
        assert connection["privateKey"] == ESC_STAND_IN[run.stack]["sshPrivateKey"]
        assert is_secret(resource.inputs["connection"])


def test_no_command_uses_the_ssh_environment_input(run):
    for resource in run.of_type(COMMAND):
        assert "environment" not in resource.inputs, resource.name


def test_env_file_step_takes_secrets_on_stdin_logs_nothing_and_hides_its_output(run):
    step = run.one(COMMAND, "gateway-env-file")
    assert is_secret(step.inputs["stdin"])
    assert step.inputs["logging"] == "none"
    assert set(run.options[(COMMAND, "gateway-env-file")].additional_secret_outputs) >= {"stdout", "stderr"}
    argv = shlex.split(step.inputs["create"])
    assert argv == ["bash", f"{REMOTE}/bin/write-env.sh", f"{REMOTE}/gateway.env"]


def test_env_file_holds_exactly_the_gateway_contract(run):
    text = reveal(run.one(COMMAND, "gateway-env-file").inputs["stdin"])
    pairs = dict(line.split("=", 1) for line in text.splitlines())
    declared = {v for k, v in vars(env_names).items() if k.isupper() and isinstance(v, str)}
    assert set(pairs) <= declared
    assert set(env_names.SECRETS) <= set(pairs)
    secrets = ESC_STAND_IN[run.stack]
    assert pairs[env_names.ADMIN_TOKEN] == secrets["gatewayAdminToken"]
    assert pairs[env_names.CLIENT_TOKENS] == secrets["gatewayClientTokens"]
    assert pairs[env_names.SERVERLESS_API_KEY] == secrets["serverlessApiKey"]
    assert secrets["lambdaApiKey"] not in pairs.values()  # the Lambda Cloud key stays with the tracker
    assert pairs[env_names.DAILY_BUDGET_USD] == stack_config(run.stack)[f"{PROJECT}:dailyBudgetUsd"]
    assert float(pairs[env_names.SERVERLESS_RATIO]) == float(project_config(run.stack)["serverlessRatio"])
    assert pairs[env_names.HOST] == "127.0.0.1"


def test_container_step_is_replaced_delete_first_and_stops_the_container_on_delete(run):
    step = run.one(COMMAND, "gateway-container")
    options = run.options[(COMMAND, "gateway-container")]
    assert options.delete_before_replace is True
    assert options.custom_create_timeout.endswith("s")
    assert shlex.split(step.inputs["delete"]) == ["bash", f"{REMOTE}/bin/stop.sh", CONTAINER_NAME]
    create = shlex.split(step.inputs["create"])
    assert create[:3] == ["bash", f"{REMOTE}/bin/deploy.sh", CONTAINER_NAME]
    assert create[3] == stack_config(run.stack)[f"{PROJECT}:gatewayImage"]
    assert create[6] == stack_config(run.stack)[f"{PROJECT}:gatewayHealthTimeoutSeconds"]
    trigger = step.inputs["triggers"]
    assert is_secret(trigger) and len(reveal(trigger)) == 1 and len(reveal(trigger)[0]) == 64


def test_the_trigger_changes_with_host_image_env_and_scripts_only():
    from components.gateway_host import deploy_trigger, scripts_digest

    raw = project_config("prod")
    settings = parse_settings("prod", REGION, raw)
    other_image = parse_settings("prod", REGION, {**raw, "gatewayImage": "ghcr.io/example-org/gw:0.2.0"})
    scripts = scripts_digest()
    base = deploy_trigger(settings, "A=1\n", scripts)
    assert deploy_trigger(settings, "A=1\n", scripts) == base
    assert deploy_trigger(other_image, "A=1\n", scripts) != base
    assert deploy_trigger(settings, "A=2\n", scripts) != base
    assert deploy_trigger(settings, "A=1\n", "edited") != base
    moved = parse_settings("prod", REGION, {**raw, "gatewayHost": "203.0.113.99"})
    assert deploy_trigger(moved, "A=1\n", scripts) != base
    unrelated = parse_settings("prod", REGION, {**raw, "dailyBudgetUsd": "60"})  # reaches it via the env file
    assert deploy_trigger(unrelated, "A=1\n", scripts) == base


def test_scripts_are_copied_from_the_repo_to_the_remote_bin_dir(run):
    copies = {r.name: r.inputs for r in run.of_type(COPY)}
    assert len(copies) == len(SCRIPTS)
    for script in SCRIPTS:
        inputs = copies[f"gateway-{script.removesuffix('.sh')}-script"]
        assert inputs["remotePath"] == f"{REMOTE}/bin/{script}"
        assert inputs["source"].path == str(SCRIPTS_DIR / script)


def test_preflight_runs_before_the_env_file_and_the_env_file_before_the_container(run):
    env_deps = run.options[(COMMAND, "gateway-env-file")].dependencies
    container_deps = run.options[(COMMAND, "gateway-container")].dependencies
    assert any(urn.endswith("::gateway-preflight") for urn in env_deps)
    assert any(urn.endswith("::gateway-env-file") for urn in container_deps)


@pytest.mark.parametrize("key", ["gatewayClientTokens", "gatewayAdminToken", "serverlessApiKey"])
def test_a_secret_with_a_line_break_is_rejected_by_key_without_showing_it(key):
    settings = parse_settings("prod", REGION, project_config("prod"))
    values = {"client_tokens": "a", "admin_token": "b", "serverless_api_key": "c"}
    field = {"gatewayClientTokens": "client_tokens", "gatewayAdminToken": "admin_token",
             "serverlessApiKey": "serverless_api_key"}[key]
    values[field] = "top-secret-line-1\nINJECTED=1"
    with pytest.raises(SettingsError, match=key) as info:
        render_env_file(settings, **values)
    assert "top-secret" not in str(info.value)


@pytest.mark.parametrize(("configured", "expected"),
                         [("gpu", "gpu"), ("serverless", "serverless"), ("", None)])
def test_force_backend_reaches_the_env_file_only_when_set(configured, expected):
    settings = parse_settings("prod", REGION, {**project_config("prod"), "forceBackend": configured})
    text = render_env_file(settings, client_tokens="client-token-0123456789",
                           admin_token="admin-token-0123456789", serverless_api_key="sk-test")
    pairs = dict(line.split("=", 1) for line in text.splitlines())
    assert pairs.get(env_names.FORCE_BACKEND) == expected


@pytest.mark.parametrize(("bind", "asked"), [
    ("10.0.0.5", "10.0.0.5"), ("0.0.0.0", "127.0.0.1"), ("::", "127.0.0.1"), ("::1", "[::1]"),
])
def test_the_deploy_step_checks_health_where_the_gateway_binds(bind, asked):
    from components.gateway_host import health_check_host

    assert health_check_host(bind) == asked


def test_the_deploy_command_carries_the_health_check_host():
    from tests.program.harness import run_program

    run = run_program("staging", {"gatewayBindAddress": "10.0.0.5"})
    create = shlex.split(run.one(COMMAND, "gateway-container").inputs["create"])
    assert create[8] == "10.0.0.5"


def test_the_remote_bin_dir_is_created_before_any_script_is_copied(run):
    """CopyToRemote creates only the last path element (pulumi-command #650): on a fresh host
    {remote_dir}/bin does not exist, so a step must make it before the first copy."""
    step = run.one(COMMAND, "gateway-dirs")
    assert shlex.split(step.inputs["create"]) == ["mkdir", "-p", "--", f"{REMOTE}/bin"]
    for copy in run.of_type(COPY):
        assert copy.inputs["remotePath"].rsplit("/", 1)[0] == f"{REMOTE}/bin"
        assert any(urn.endswith("::gateway-dirs") for urn in run.options[(COPY, copy.name)].dependencies)


def test_the_tracker_holds_the_gateways_admin_token_never_a_client_token(run):
    """Token roles (ADR 0007): the tracker's secret is the env file's admin token, which reads usage and
    metrics and cannot chat; no client token (which can spend) is stored for the tracker."""
    from cost_tracker import env_names as tracker_env

    pairs = dict(line.split("=", 1) for line in reveal(run.one(COMMAND, "gateway-env-file").inputs["stdin"])
                 .splitlines())
    stored = {r.name: reveal(r.inputs["secretString"])
              for r in run.of_type("aws:secretsmanager/secretVersion:SecretVersion")}
    tracker_secret = run.one("aws:lambda/function:Function", "cost-tracker").inputs["environment"][
        "variables"][tracker_env.GATEWAY_TOKEN_SECRET_ARN]
    assert "secrets-gateway-admin-token" in tracker_secret
    assert stored["secrets-gateway-admin-token"] == pairs[env_names.ADMIN_TOKEN]
    for client_token in pairs[env_names.CLIENT_TOKENS].split(","):
        assert client_token not in stored.values()
