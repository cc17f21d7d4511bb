"""gatewayClientKeys: names and budgets in stack config, tokens from ESC (gatewayClientKeyTokens),
rendered into GATEWAY_CLIENT_KEYS inside the env file's secret; bad config fails naming the key."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from components.client_keys import ClientKeySpec
from components.settings import SettingsError, parse_settings
from gateway import env_names
from gateway.config import GatewayConfig
from llm_shared.money import usd_to_pico
from tests.program.harness import (
    ESC_STAND_IN,
    REGION,
    is_secret,
    project_config,
    reveal,
    run_program,
    unwrapped_strings,
)

COMMAND = "command:remote:Command"
KEYS = [{"name": "team-a", "dailyBudgetUsd": "5", "monthlyBudgetUsd": 60}, {"name": "batch.jobs"}]
TOKENS = {"team-a": "esc-staging-key-team-a-5f1c", "batch.jobs": "esc-staging-key-batch-90ad"}


def _secrets(**change: str | None) -> dict[str, str]:
    secrets = {**ESC_STAND_IN["staging"], "gatewayClientKeyTokens": json.dumps(TOKENS), **change}
    return {k: v for k, v in secrets.items() if v is not None}


def _env_file(run) -> dict[str, str]:
    stdin = run.one(COMMAND, "gateway-env-file").inputs["stdin"]
    assert is_secret(stdin)
    return dict(line.split("=", 1) for line in reveal(stdin).splitlines())


def test_named_keys_reach_the_gateway_with_their_tokens_and_budgets_only_inside_secrets():
    run = run_program("staging", {"gatewayClientKeys": json.dumps(KEYS)}, secrets=_secrets())
    pairs = _env_file(run)
    assert json.loads(pairs[env_names.CLIENT_KEYS]) == [
        {"name": "team-a", "token": TOKENS["team-a"], "daily_budget_usd": "5", "monthly_budget_usd": "60"},
        {"name": "batch.jobs", "token": TOKENS["batch.jobs"]}]
    assert pairs[env_names.CLIENT_TOKENS] == ESC_STAND_IN["staging"]["gatewayClientTokens"]  # key default
    config = GatewayConfig.from_env(pairs)  # what the gateway will hold
    assert [(k.name, k.daily_budget_pico) for k in config.client_keys[:2]] == [
        ("team-a", usd_to_pico("5")), ("batch.jobs", None)]
    leaks = [(r.typ, r.name, path) for r in run.resources for path, text in unwrapped_strings(r.inputs)
             for token in TOKENS.values() if token in text]
    assert leaks == []
    assert not [t for t in TOKENS.values() if t in repr(run.outputs)]


def test_with_named_keys_the_unnamed_tokens_are_optional():
    run = run_program("staging", {"gatewayClientKeys": json.dumps(KEYS)},
                      secrets=_secrets(gatewayClientTokens=None))
    pairs = _env_file(run)
    assert env_names.CLIENT_TOKENS not in pairs and env_names.CLIENT_KEYS in pairs


def test_the_settings_hold_names_and_budgets_never_tokens():
    settings = parse_settings("staging", REGION, {**project_config("staging"),
                                                  "gatewayClientKeys": json.dumps(KEYS)})
    assert settings.gateway.client_keys == (ClientKeySpec("team-a", Decimal(5), Decimal(60)),
                                            ClientKeySpec("batch.jobs"))


@pytest.mark.parametrize(("keys", "fragment"), [
    ('{"team-a": {}}', "a dict, not a list"),
    ("[{", "not a YAML/JSON list"),
    (json.dumps([{"name": "team a"}]), "entry 0: name 'team a' is not allowed"),
    (json.dumps([{"dailyBudgetUsd": "5"}]), "entry 0: name must be a string"),
    (json.dumps([{"name": "a"}, {"name": "a"}]), "entry 1 ('a'): the name is already used by entry 0"),
    (json.dumps([{"name": "a", "daily": "5"}]), "unknown field(s) 'daily'"),
    (json.dumps([{"name": "a", "dailyBudgetUsd": "-1"}]), "entry 0 ('a'): dailyBudgetUsd must be > 0"),
    (json.dumps([{"name": "a", "dailyBudgetUsd": "9", "monthlyBudgetUsd": "1"}]), "must be >= daily budget"),
    (json.dumps([{"name": f"k{i}"} for i in range(101)]), "101 keys, more than 100"),
])
def test_bad_client_keys_fail_preview_naming_the_key_and_what_is_allowed(keys, fragment):
    with pytest.raises(SettingsError) as info:
        parse_settings("staging", REGION, {**project_config("staging"), "gatewayClientKeys": keys})
    message = str(info.value)
    assert "llm-cost-governance:gatewayClientKeys" in message and fragment in message
    assert "Allowed: a list of at most 100 {name, dailyBudgetUsd?, monthlyBudgetUsd?}" in message


def test_a_token_pasted_into_plain_config_is_refused_without_showing_it():
    keys = json.dumps([{"name": "team-a", "token": "plain-config-token-3c9e1"}])
    with pytest.raises(SettingsError) as info:
        parse_settings("staging", REGION, {**project_config("staging"), "gatewayClientKeys": keys})
    assert "tokens are secrets" in str(info.value) and "gatewayClientKeyTokens" in str(info.value)
    assert "plain-config-token-3c9e1" not in str(info.value)


@pytest.mark.parametrize(("tokens", "fragment"), [
    (None, "missing secret config llm-cost-governance:gatewayClientKeyTokens"),
    (json.dumps({"team-a": TOKENS["team-a"]}), "has no token for key(s) 'batch.jobs'"),
    (json.dumps({**TOKENS, "team-c": "esc-staging-key-team-c-77aa"}), "token(s) for 'team-c', which"),
    (json.dumps(["esc-staging-key-team-c-77aa"]), "must be an object of key name -> token"),
    (json.dumps({**TOKENS, "team-a": "esc-short"}),
     "entry 0 ('team-a'): token must be a string of at least 16"),
    (json.dumps({**TOKENS, "team-a": TOKENS["batch.jobs"]}), "has the same token as key 'team-a'"),
    (json.dumps({**TOKENS, "team-a": ESC_STAND_IN["staging"]["gatewayAdminToken"]}), "must differ"),
])
def test_bad_tokens_fail_naming_the_key_never_showing_a_token(tokens, fragment):
    with pytest.raises(SettingsError) as info:  # raised inside the env file's apply, or by load_secrets
        run_program("staging", {"gatewayClientKeys": json.dumps(KEYS)},
                    secrets=_secrets(gatewayClientKeyTokens=tokens))
    message = str(info.value)
    assert fragment in message
    shown = (*TOKENS.values(), "esc-staging-key-team-c-77aa", "esc-short", *ESC_STAND_IN["staging"].values())
    for secret in shown:
        assert secret not in message
