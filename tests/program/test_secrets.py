"""No secret value appears unwrapped in any resource input; secrets reach AWS only as Pulumi secrets."""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc

from tests.program.harness import (
    ESC_STAND_IN,
    is_secret,
    reveal,
    run_program,
    secret_values,
    unwrapped_strings,
)

SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


def test_no_secret_value_in_any_resource_input_outside_a_secret(run):
    values = secret_values(run.stack)
    assert len(run.resources) > 30
    leaks = [
        (resource.typ, resource.name, path)
        for resource in run.resources
        for path, text in unwrapped_strings(resource.inputs)
        for value in values
        if value in text
    ]
    assert leaks == []


def test_no_secret_value_in_stack_outputs_and_none_is_tainted_secret(run):
    text = repr(run.outputs)
    assert not [value for value in secret_values(run.stack) if value in text]
    # A secret-tainted output shows as [secret] in the console: the readme would not render.
    assert run.secret_outputs == set()


def test_each_esc_secret_is_stored_as_a_secret_version(run):
    versions = {r.name: r.inputs["secretString"] for r in run.of_type(SECRET_VERSION)}
    expected = {"secrets-gateway-admin-token": "gatewayAdminToken", "secrets-lambda-api-key": "lambdaApiKey"}
    if "slackWebhookUrl" in ESC_STAND_IN[run.stack]:
        expected["secrets-slack-webhook"] = "slackWebhookUrl"
    assert set(versions) == set(expected)
    for name, key in expected.items():
        assert is_secret(versions[name]), name
        assert reveal(versions[name]) == ESC_STAND_IN[run.stack][key]


def test_the_secrets_are_really_in_the_inputs_the_leak_check_walks(run):
    """Guards the leak test: the walker must see the values inside secrets, just not count them."""
    flattened = repr([r.inputs for r in run.resources])
    for key in ("gatewayAdminToken", "lambdaApiKey", "gatewayClientTokens", "serverlessApiKey"):
        assert ESC_STAND_IN[run.stack][key] in flattened


def test_the_leak_walker_reports_plain_strings_and_skips_secrets():
    inputs = {"a": "plain-1", "b": [rpc.wrap_rpc_secret("hidden"), {"c": "plain-2"}],
              "d": rpc.wrap_rpc_secret({"e": "hidden-too"})}
    assert unwrapped_strings(inputs) == [(".a", "plain-1"), (".b[1].c", "plain-2")]


@pytest.mark.parametrize(("change", "why"), [
    ({"gatewayAdminToken": "short"}, "at least 16"),
    ({"gatewayAdminToken": "esc-prod-client-c3"}, "must differ"),
])
def test_secrets_the_gateway_would_refuse_fail_the_program_without_showing_them(change, why):
    secrets = {**ESC_STAND_IN["prod"], **change}
    with pytest.raises(Exception, match=why) as info:
        run_program("prod", secrets=secrets)
    assert "gateway would reject its env file" in str(info.value)
    assert "short" not in str(info.value) and "esc-prod-client-c3" not in str(info.value)
