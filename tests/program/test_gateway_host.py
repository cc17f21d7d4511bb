"""GatewayHost under mocks: pinned host key, secrets only via stdin, safe replacement, hash triggers."""

from __future__ import annotations

import shlex

import pytest

from components.gateway_env import render_env_file
from components.gateway_host import GATEWAY_CONTAINER, SCRIPTS, SCRIPTS_DIR
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
    # dirs, preflight; model server env + container; gateway env + container; Caddyfile + proxy
    assert len(resources) == len(SCRIPTS) + 8
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
    assert argv == ["bash", f"{REMOTE}/bin/write-file.sh", f"{REMOTE}/gateway.env", "env"]


def test_env_file_holds_exactly_the_gateway_contract(run):
    text = reveal(run.one(COMMAND, "gateway-env-file").inputs["stdin"])
    pairs = dict(line.split("=", 1) for line in text.splitlines())
    declared = {v for k, v in vars(env_names).items() if k.isupper() and isinstance(v, str)}
    assert set(pairs) <= declared
    assert set(env_names.SECRETS) - {env_names.CLIENT_KEYS} <= set(pairs)  # keys: when configured
    secrets = ESC_STAND_IN[run.stack]
    assert pairs[env_names.ADMIN_TOKEN] == secrets["gatewayAdminToken"]
    assert pairs[env_names.CLIENT_TOKENS] == secrets["gatewayClientTokens"]
    assert pairs[env_names.SERVERLESS_API_KEY] == secrets["serverlessApiKey"]
    assert secrets["lambdaApiKey"] not in pairs.values()  # the Lambda Cloud key stays with the tracker
    assert pairs[env_names.DAILY_BUDGET_USD] == stack_config(run.stack)[f"{PROJECT}:dailyBudgetUsd"]
    assert float(pairs[env_names.SERVERLESS_RATIO]) == float(project_config(run.stack)["serverlessRatio"])
    assert pairs[env_names.HOST] == "127.0.0.1"


def command_of(run: ProgramRun, name: str) -> list[str]:
    step = run.one(COMMAND, name)
    assert is_secret(step.inputs["create"])  # it carries a digest of the secret files it reads
    assert reveal(step.inputs["create"]) == reveal(step.inputs["update"])
    return shlex.split(reveal(step.inputs["create"]))


def test_a_changed_configuration_updates_the_gateway_step_and_only_a_move_replaces_it(run):
    step = run.one(COMMAND, "gateway-container")
    options = run.options[(COMMAND, "gateway-container")]
    assert options.delete_before_replace is True
    assert options.custom_create_timeout.endswith("s")
    assert shlex.split(step.inputs["delete"]) == ["bash", f"{REMOTE}/bin/stop.sh", GATEWAY_CONTAINER]
    config = stack_config(run.stack)
    # update runs the same idempotent script (no delete first: the old container stays to roll back to)
    argv = command_of(run, "gateway-container")
    assert argv[:2] == ["bash", f"{REMOTE}/bin/run-container.sh"]
    at = argv.index(GATEWAY_CONTAINER)
    assert argv[at + 1] == config[f"{PROJECT}:gatewayImage"]
    assert argv[at + 2] == "http://127.0.0.1:8080/healthz"
    assert argv[at + 3] == config[f"{PROJECT}:gatewayHealthTimeoutSeconds"]
    assert argv[argv.index("--hash-file") + 1] == f"{REMOTE}/gateway.env"
    assert argv[argv.index("--env-file") + 1] == f"{REMOTE}/gateway.env"
    where = [config[f"{PROJECT}:gatewayHost"], "22", config[f"{PROJECT}:gatewayUser"]]
    assert step.inputs["triggers"] == where


def test_the_revision_follows_the_secret_files_and_the_scripts():
    from components.gateway_host import revision, scripts_digest

    scripts = scripts_digest()
    base = revision("A=1\n", scripts)
    assert revision("A=1\n", scripts) == base and len(base) == 64
    assert revision("A=2\n", scripts) != base
    assert revision("A=1\n", "edited") != base


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

    run = run_program("staging", {"gatewayBindAddress": "10.0.0.5", "tlsMode": "none"})
    assert "http://10.0.0.5:8080/healthz" in command_of(run, "gateway-container")


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


# --- model server, TLS proxy, order ------------------------------------------------------------


def depends_on(run: ProgramRun, name: str, other: str) -> bool:
    return any(urn.endswith(f"::{other}") for urn in run.options[(COMMAND, name)].dependencies)


def test_the_model_server_runs_vllm_on_the_nvidia_runtime_bound_to_loopback(run):
    from components.gateway_host import MODEL_CACHE_VOLUME, MODEL_SERVER_CONTAINER
    from components.settings import DEFAULT_MODEL_SERVER_IMAGE

    argv = command_of(run, "gateway-model-server")
    at = argv.index(MODEL_SERVER_CONTAINER)
    assert argv[at + 1] == DEFAULT_MODEL_SERVER_IMAGE
    assert argv[at + 2] == "http://127.0.0.1:8000/health"
    options, container_args = argv[at + 4:argv.index("--", at)], argv[argv.index("--", at) + 1:]
    pairs = dict(zip(options[::2], options[1::2], strict=True))
    assert pairs["--runtime"] == "nvidia" and pairs["--gpus"] == "all" and pairs["--network"] == "host"
    assert pairs["--volume"] == f"{MODEL_CACHE_VOLUME}:/root/.cache/huggingface"
    assert pairs["--env-file"] == f"{REMOTE}/model-server.env"
    served = dict(zip(container_args[::2], container_args[1::2], strict=True))
    assert served["--model"] == "meta-llama/Llama-3.1-8B-Instruct"
    assert (served["--host"], served["--port"]) == ("127.0.0.1", "8000")
    assert served["--gpu-memory-utilization"] == "0.9"
    step = run.one(COMMAND, "gateway-model-server")
    assert shlex.split(step.inputs["delete"]) == ["bash", f"{REMOTE}/bin/stop.sh", MODEL_SERVER_CONTAINER]
    assert int(run.options[(COMMAND, "gateway-model-server")].custom_create_timeout[:-1]) >= 1800


def test_the_hugging_face_token_reaches_only_the_model_servers_env_file_on_stdin():
    from tests.program.harness import run_program, unwrapped_strings

    token = "hf_esc-token-5b7e0c1d"
    run = run_program("prod", secrets={**ESC_STAND_IN["prod"], "huggingFaceToken": token})
    env_step = run.one(COMMAND, "gateway-model-server-env")
    assert is_secret(env_step.inputs["stdin"]) and env_step.inputs["logging"] == "none"
    assert f"HF_TOKEN={token}\n" in reveal(env_step.inputs["stdin"])
    for resource in run.resources:
        assert not [path for path, text in unwrapped_strings(resource.inputs) if token in text], resource.name
        for key in ("create", "update"):
            assert token not in str(reveal(resource.inputs.get(key, ""))), resource.name


def test_the_order_is_model_server_then_gateway_then_proxy(run):
    assert depends_on(run, "gateway-model-server", "gateway-model-server-env")
    assert depends_on(run, "gateway-container", "gateway-model-server")
    assert depends_on(run, "gateway-container", "gateway-env-file")
    assert depends_on(run, "gateway-proxy", "gateway-container")
    assert depends_on(run, "gateway-proxy", "gateway-caddyfile")


def test_caddy_serves_the_gateway_url_host_with_automatic_https_in_front_of_the_loopback_gateway(run):
    from components.gateway_host import PROXY_CONTAINER
    from components.settings import DEFAULT_PROXY_IMAGE

    host = stack_config(run.stack)[f"{PROJECT}:gatewayUrl"].removeprefix("https://")
    caddyfile = run.one(COMMAND, "gateway-caddyfile").inputs["stdin"]
    assert f"{host} {{\n" in caddyfile and "reverse_proxy 127.0.0.1:8080 {" in caddyfile
    assert "tls " not in caddyfile  # automatic HTTPS
    argv = command_of(run, "gateway-proxy")
    assert argv[argv.index("--resolve") + 1] == f"{host}:443:127.0.0.1"
    at = argv.index(PROXY_CONTAINER)
    assert argv[at + 1:at + 3] == [DEFAULT_PROXY_IMAGE, f"https://{host}/healthz"]
    assert f"{REMOTE}/Caddyfile:/etc/caddy/Caddyfile:ro" in argv
    text = reveal(run.one(COMMAND, "gateway-env-file").inputs["stdin"])
    assert f"{env_names.HOST}=127.0.0.1\n" in text  # the gateway listens on loopback only


def test_a_provided_certificate_comes_from_esc_on_stdin_and_caddy_uses_it():
    from tests.program.harness import run_program

    cert = "-----BEGIN CERTIFICATE-----\nesc-cert-77aa\n-----END CERTIFICATE-----\n"
    key = "-----BEGIN PRIVATE KEY-----\nesc-tls-key-91bc\n-----END PRIVATE KEY-----\n"
    run = run_program("prod", {"tlsMode": "provided"},
                      secrets={**ESC_STAND_IN["prod"], "tlsCertificate": cert, "tlsPrivateKey": key})
    for step, content, dest in (("gateway-tls-certificate", cert, "cert.pem"),
                                ("gateway-tls-private-key", key, "key.pem")):
        inputs = run.one(COMMAND, step).inputs
        assert is_secret(inputs["stdin"]) and reveal(inputs["stdin"]) == content
        write = ["bash", f"{REMOTE}/bin/write-file.sh", f"{REMOTE}/tls/{dest}", "pem"]
        assert shlex.split(inputs["create"]) == write
        assert depends_on(run, "gateway-proxy", step)
    caddyfile = run.one(COMMAND, "gateway-caddyfile").inputs["stdin"]
    assert "tls /etc/caddy/tls/cert.pem /etc/caddy/tls/key.pem" in caddyfile
    argv = command_of(run, "gateway-proxy")
    assert f"{REMOTE}/tls:/etc/caddy/tls:ro" in argv
    assert "esc-tls-key" not in " ".join(argv)


def test_tls_mode_none_runs_no_proxy_and_no_model_server_without_a_map():
    from tests.program.harness import run_program

    run = run_program("staging", {"tlsMode": "none", "gatewayBindAddress": "0.0.0.0", "gpuModelMap": None})
    names = {r.name for r in run.of_type(COMMAND)}
    assert names == {"gateway-dirs", "gateway-preflight", "gateway-env-file", "gateway-container"}
    assert not depends_on(run, "gateway-container", "gateway-model-server")


def test_a_model_server_elsewhere_is_not_run_here():
    from tests.program.harness import run_program

    run = run_program("staging", {"gpuBaseUrl": "https://gpu.internal.example.com/v1"})
    assert "gateway-model-server" not in {r.name for r in run.of_type(COMMAND)}
