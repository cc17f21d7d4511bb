"""The host keys (model server, TLS proxy, instance launch): each bad value fails preview naming its key."""

from __future__ import annotations

import pytest

from components.settings import SettingsError, parse_settings
from tests.program.harness import ESC_STAND_IN, REGION, project_config, run_program

PROD = project_config("prod")
LAUNCH = {**{k: v for k, v in PROD.items() if k not in ("gatewayHost", "gatewayHostKey")},
          "launchInstance": "true", "lambdaRegion": "us-east-1", "lambdaSshKeyName": "ops-deploy"}

# (overrides, key the error must name, text of the rule)
INVALID = [
    ({"gpuModelMap": '{"llama3.1-8b-instruct": "a/1", "llama3.1-70b-instruct-fp8": "a/2"}'}, "gpuModelMap",
     "one vLLM server serves one model"),
    ({"gpuBaseUrl": "http://127.0.0.1:8000/"}, "gpuBaseUrl", "http://127.0.0.1:<port>/v1"),
    ({"modelServerGpuMemoryUtilization": "1.5"}, "modelServerGpuMemoryUtilization", "(0, 1]"),
    ({"modelServerGpuMemoryUtilization": "lots"}, "modelServerGpuMemoryUtilization", "not a number"),
    ({"modelServerExtraArgs": '["--port", "9000"]'}, "modelServerExtraArgs", "--port is set by the program"),
    ({"modelServerExtraArgs": '["--api-key=k"]'}, "modelServerExtraArgs", "--api-key is set by the program"),
    ({"modelServerExtraArgs": "[1]"}, "modelServerExtraArgs", "not a one-line string"),
    ({"modelServerExtraArgs": '{"a": 1}'}, "modelServerExtraArgs", "JSON list"),
    ({"modelServerImage": "Not An Image"}, "modelServerImage", "image reference"),
    ({"modelServerHealthTimeoutSeconds": "5"}, "modelServerHealthTimeoutSeconds", "[30, 7200]"),
    ({"tlsMode": "letsencrypt"}, "tlsMode", "automatic"),
    ({"gatewayUrl": "https://gateway.example.com/gw"}, "gatewayUrl", "without a path"),
    ({"gatewayUrl": "https://203.0.113.10"}, "gatewayUrl", "a DNS name"),
    ({"gatewayUrl": "http://127.0.0.1:8080"}, "gatewayUrl", "https:// URL"),
    ({"gatewayBindAddress": "0.0.0.0"}, "gatewayBindAddress", "loopback"),
    ({"acmeEmail": "ops"}, "acmeEmail", "email address"),
    ({"proxyImage": "caddy:"}, "proxyImage", "image reference"),
]


LAUNCH_INVALID = [
    ({"lambdaRegion": None}, "lambdaRegion", "required when launchInstance is true"),
    ({"lambdaRegion": "Virginia"}, "lambdaRegion", "region such as us-east-1"),
    ({"lambdaSshKeyName": None}, "lambdaSshKeyName", "required when launchInstance is true"),
    ({"lambdaSshKeyName": "a b;c"}, "lambdaSshKeyName", "SSH key registered in Lambda Cloud"),
    ({"gpuInstanceType": None, "gpuHourlyUsd": None}, "gpuInstanceType", "required when launchInstance"),
    ({"gatewayHost": "203.0.113.10"}, "gatewayHost", "empty when launchInstance is true"),
    ({"gpuHostStartedAt": "2026-01-01T00:00:00+00:00"}, "gpuHostStartedAt", "launch time"),
    ({"gatewayEnabled": "false"}, "launchInstance", "false when gatewayEnabled is false"),
    ({"launchInstance": "maybe"}, "launchInstance", "true or false"),
]


@pytest.mark.parametrize(("base", "overrides", "key", "rule"),
                         [(PROD, *case) for case in INVALID] + [(LAUNCH, *case) for case in LAUNCH_INVALID])
def test_a_bad_host_key_fails_naming_it(base, overrides, key, rule):
    with pytest.raises(SettingsError) as info:
        parse_settings("prod", REGION, {**base, **overrides})
    message = str(info.value)
    assert f"llm-cost-governance:{key} = " in message and rule in message, message


def test_host_defaults():
    g = parse_settings("prod", REGION, PROD).gateway
    assert (g.model_server_port, g.model_server_model) == (8000, "meta-llama/Llama-3.1-8B-Instruct")
    assert g.model_server_gpu_memory == 0.9 and g.model_server_args == ()
    assert g.tls_mode == "automatic" and g.bind_address == "127.0.0.1"
    assert parse_settings("prod", REGION, PROD).launch is None


def test_a_launch_stack_needs_no_host_or_host_key():
    settings = parse_settings("prod", REGION, LAUNCH)
    assert settings.launch is not None
    assert (settings.launch.instance_type, settings.launch.region) == ("gpu_1x_a10", "us-east-1")
    assert settings.launch.api_url == "https://cloud.lambda.ai/api/v1"
    assert settings.gateway.host == "" and settings.gateway.host_key == ""


def test_tls_mode_none_allows_a_remote_load_balancer_bind():
    settings = parse_settings("prod", REGION, {**PROD, "tlsMode": "none", "gatewayBindAddress": "0.0.0.0"})
    assert settings.gateway.tls_mode == "none"


@pytest.mark.parametrize("missing", ["tlsCertificate", "tlsPrivateKey"])
def test_a_provided_certificate_must_be_in_esc(missing):
    secrets = {**ESC_STAND_IN["prod"], "tlsCertificate": "-----BEGIN CERTIFICATE-----\nx\n",
               "tlsPrivateKey": "-----BEGIN PRIVATE KEY-----\ny\n"}
    del secrets[missing]
    with pytest.raises(Exception, match=missing):
        run_program("prod", {"tlsMode": "provided"}, secrets=secrets)
