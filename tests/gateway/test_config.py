"""Configuration from the environment: defaults, and a clear error naming each bad variable."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from gateway import env_names
from gateway.config import GatewayConfig
from llm_shared.errors import ConfigError
from llm_shared.money import usd_to_pico

from .conftest import ADMIN_TOKEN, CLIENT_TOKEN, LARGE, SERVERLESS_KEY

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    env_names.CLIENT_TOKENS: CLIENT_TOKEN,
    env_names.ADMIN_TOKEN: ADMIN_TOKEN,
    env_names.SERVERLESS_BASE_URL: "https://api.example.test/v1/",
    env_names.SERVERLESS_API_KEY: SERVERLESS_KEY,
    env_names.GPU_BASE_URL: "http://127.0.0.1:8000/v1",
}


def test_defaults():
    config = GatewayConfig.from_env(BASE)
    assert config.serverless_base_url == "https://api.example.test/v1"
    assert config.serverless_ratio == 0.8
    assert config.budgets.daily_pico == usd_to_pico("50")
    assert config.budgets.monthly_pico == usd_to_pico("1000")
    assert (config.thresholds.warning, config.thresholds.critical) == (Decimal(80), Decimal(100))
    assert config.time_zone == "UTC" and config.port == 8080 and config.max_body_bytes == 1_048_576
    assert SERVERLESS_KEY not in repr(config) and CLIENT_TOKEN not in repr(config)


def test_everything_set():
    config = GatewayConfig.from_env({
        **BASE, env_names.CLIENT_TOKENS: f" {CLIENT_TOKEN} , other-client-token-123 ",
        env_names.GPU_MODEL_MAP: json.dumps({LARGE: "meta/maverick"}), env_names.SERVERLESS_RATIO: "0.25",
        env_names.DAILY_BUDGET_USD: "12.5", env_names.MONTHLY_BUDGET_USD: "300",
        env_names.WARNING_THRESHOLD_PERCENT: "70", env_names.CRITICAL_THRESHOLD_PERCENT: "95",
        env_names.TIME_ZONE: "Europe/Berlin", env_names.MAX_BODY_BYTES: "4096", env_names.PORT: "9000",
        env_names.UPSTREAM_TIMEOUT_SECONDS: "2.5",
    })
    assert [(k.name, k.token) for k in config.client_keys] == [("default", CLIENT_TOKEN),
                                                                ("default", "other-client-token-123")]
    assert config.gpu_model_map == {LARGE: "meta/maverick"}
    assert config.serverless_ratio == 0.25 and config.budgets.daily_pico == usd_to_pico("12.5")
    assert config.thresholds.warning == Decimal(70) and config.time_zone == "Europe/Berlin"
    assert (config.max_body_bytes, config.port, config.upstream_timeout_s) == (4096, 9000, 2.5)


@pytest.mark.parametrize(("name", "value", "fragment"), [
    (env_names.CLIENT_TOKENS, "", "is required"),
    (env_names.CLIENT_TOKENS, "short", "at least 16"),
    (env_names.ADMIN_TOKEN, "", "is required"),
    (env_names.ADMIN_TOKEN, CLIENT_TOKEN, "must differ"),
    (env_names.SERVERLESS_BASE_URL, "", "it is empty"),
    (env_names.GPU_BASE_URL, "ftp://host/v1", "not an http(s) URL"),
    (env_names.GPU_BASE_URL, "http://user:pw@host/v1", "credentials"),
    (env_names.SERVERLESS_BASE_URL, SERVERLESS_KEY, "not an http(s) URL"),  # the key in the wrong variable
    # The provider's key travels on this URL: plain http only to loopback (it was accepted).
    (env_names.SERVERLESS_BASE_URL, "http://api.example.com/v1", "plain http"),
    (env_names.SERVERLESS_BASE_URL, "http://127.0.0.1.example.com/v1", "plain http"),
    (env_names.GPU_MODEL_MAP, "{nope", "invalid JSON"),
    (env_names.GPU_MODEL_MAP, "[]", "JSON object"),
    (env_names.GPU_MODEL_MAP, '{"gpt-4": "x"}', "unknown model 'gpt-4'"),
    (env_names.GPU_MODEL_MAP, json.dumps({LARGE: ""}), "non-empty string"),
    (env_names.SERVERLESS_RATIO, "1.5", "between 0 and 1"),
    (env_names.SERVERLESS_RATIO, "most", "not a number"),
    (env_names.DAILY_BUDGET_USD, "-1", "must be > 0"),
    (env_names.MONTHLY_BUDGET_USD, "10", "must be >= daily"),
    (env_names.WARNING_THRESHOLD_PERCENT, "100", "must be below critical"),
    (env_names.CRITICAL_THRESHOLD_PERCENT, "150", "(0, 100]"),
    (env_names.TIME_ZONE, "Mars/Olympus", "not a known IANA zone"),
    (env_names.MAX_BODY_BYTES, "12", "between 1024"),
    (env_names.PORT, "80.5", "whole number"),
    (env_names.UPSTREAM_TIMEOUT_SECONDS, "0", "between"),
    (env_names.REQUEST_DEADLINE_SECONDS, "0", "between"),
    (env_names.STREAM_STALL_SECONDS, "never", "not a number"),
    (env_names.CATALOG_PATH, "/nonexistent/catalog.json", "cannot read"),
    (env_names.FORCE_BACKEND, "tpu", "is not one of serverless, gpu"),
])
def test_bad_values_name_the_variable(name, value, fragment):
    with pytest.raises(ConfigError) as error:
        GatewayConfig.from_env({**BASE, name: value})
    message = str(error.value)
    assert fragment in message
    if name != env_names.CATALOG_PATH:  # the catalog error names the file instead
        assert name in message
    for secret in (CLIENT_TOKEN, ADMIN_TOKEN, SERVERLESS_KEY):
        assert secret not in message


def test_the_gpu_server_and_a_loopback_provider_may_be_plain_http():
    """No key goes to the host's model server; a loopback stand-in provider never leaves the machine."""
    config = GatewayConfig.from_env({**BASE, env_names.GPU_BASE_URL: "http://model-server:8000/v1",
                                     env_names.SERVERLESS_BASE_URL: "http://[::1]:9001/v1"})
    assert config.gpu_base_url == "http://model-server:8000/v1"
    assert config.serverless_base_url == "http://[::1]:9001/v1"


def test_a_catalog_without_every_tier_is_refused_at_start(tmp_path):
    """`auto` routes by tier: a missing tier would turn every such request into a 500 later."""
    only_small = {"models": [{"id": "tiny", "tier": "small", "context_window": 8192,
                              "input_usd_per_million": "0.1", "output_usd_per_million": "0.1"}]}
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(only_small))
    with pytest.raises(ConfigError) as error:
        GatewayConfig.from_env({**BASE, env_names.CATALOG_PATH: str(path)})
    assert env_names.CATALOG_PATH in str(error.value) and "medium" in str(error.value)


def test_entry_point_exits_2_with_the_variable_named_and_no_secret():
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "functions"),
           **BASE, env_names.SERVERLESS_RATIO: "2"}
    result = subprocess.run([sys.executable, "-m", "gateway"], env=env, capture_output=True, text=True,
                            timeout=60, cwd=ROOT)
    assert result.returncode == 2
    assert env_names.SERVERLESS_RATIO in result.stderr
    assert SERVERLESS_KEY not in result.stderr + result.stdout


def test_log_lines_redact_every_secret_in_the_message_the_fields_and_a_traceback():
    import io
    import json
    import logging

    from gateway.json_logs import JsonFormatter

    config = GatewayConfig.from_env(BASE)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(config.secrets()))
    log = logging.getLogger("gateway.test-redaction")
    log.addHandler(handler)
    try:
        try:
            raise RuntimeError(f"upstream echoed Bearer {SERVERLESS_KEY}")
        except RuntimeError:
            log.exception("upstream said %s", ADMIN_TOKEN, extra={"detail": {"key": SERVERLESS_KEY}})
    finally:
        log.removeHandler(handler)
    [line] = out.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["message"] == "upstream said ***"
    assert "Bearer ***" in entry["exc_info"] and "***" in entry["detail"]  # the old filter missed both
    assert SERVERLESS_KEY not in line and ADMIN_TOKEN not in line


def test_a_catalog_whose_largest_request_overflows_a_ledger_integer_is_refused_at_start(tmp_path):
    """No integer overflow anywhere: recorded usage is clamped to the window, so the catalog bounds it."""
    models = [{"id": f"m-{tier}", "tier": tier, "context_window": 8192, "input_usd_per_million": "0.1",
               "output_usd_per_million": "0.1"} for tier in ("small", "medium", "large")]
    models[2].update(context_window=10**9, output_usd_per_million="1000000")
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": models}))
    with pytest.raises(ConfigError) as error:
        GatewayConfig.from_env({**BASE, env_names.CATALOG_PATH: str(path)})
    assert env_names.CATALOG_PATH in str(error.value) and "m-large" in str(error.value)
    assert "m-small" not in str(error.value)
    models[2].update(context_window=10**6)  # 16 x 1M tokens at $1/token: about 1.6e19 pico, still too much
    path.write_text(json.dumps({"models": models}))
    with pytest.raises(ConfigError):
        GatewayConfig.from_env({**BASE, env_names.CATALOG_PATH: str(path)})
    models[2].update(output_usd_per_million="1000")
    path.write_text(json.dumps({"models": models}))
    assert GatewayConfig.from_env({**BASE, env_names.CATALOG_PATH: str(path)}).catalog.get("m-large")
