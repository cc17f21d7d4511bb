"""The local command: same logic as the Lambda, JSON on stdout, optimization savings exact."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from cost_tracker import env_names as env
from cost_tracker.cli import main
from llm_shared.catalog import default_catalog
from llm_shared.money import usd_to_pico
from standins.gateway_usage import gateway_standin

from .conftest import GATEWAY_TOKEN, LARGE, MEDIUM, NOW, SMALL, add_usage, make_deps, make_env

ROOT = Path(__file__).resolve().parents[2]


def _run(capsys, aws, url, *argv, **env_overrides):
    code = main(list(argv), environ=make_env(aws, url, **env_overrides), deps=make_deps(aws))
    out, err = capsys.readouterr()
    return code, out, err


def _usd_saving(model_id: str, prompt: int, completion: int) -> Decimal:
    """Independent reckoning from the catalog's per-million USD prices (no picodollar ints)."""
    catalog = default_catalog()
    model, small = catalog.get(model_id), catalog.for_tier("small")
    per_million = (prompt * (model.input_usd_per_million - small.input_usd_per_million)
                   + completion * (model.output_usd_per_million - small.output_usd_per_million))
    return per_million / 1_000_000


@pytest.fixture
def pinned_now(monkeypatch):
    """The CLI reads the wall clock: pin it to the stand-in's clock."""
    import cost_tracker.run as run_module

    real = run_module.run_once
    monkeypatch.setattr("cost_tracker.cli.run_once", lambda s, d, **kw: real(s, d, now=NOW, **kw))


def test_optimization_prices_low_complexity_requests_on_the_small_model(aws, ledger, gateway, capsys,
                                                                       pinned_now):
    when = NOW - timedelta(days=3)
    add_usage(ledger, when, MEDIUM, prompt=2000, completion=300, complexity="low", count=10)
    add_usage(ledger, when, MEDIUM, prompt=2000, completion=900, complexity="high", count=5)
    add_usage(ledger, when, LARGE, prompt=1000, completion=1000, complexity="low", count=4)
    add_usage(ledger, when, SMALL, prompt=500, completion=50, complexity="low", count=20)
    add_usage(ledger, when, MEDIUM, "gpu", prompt=800, completion=80, complexity="low", count=3)
    add_usage(ledger, when, "mystery-model", prompt=800, completion=80, complexity="low",
              cost_pico=123, count=2)

    code, out, _ = _run(capsys, aws, gateway.url, "--type", "optimization", "--dry-run")
    assert code == 0
    report = json.loads(out)
    opt = report["optimization"]
    medium = _usd_saving(MEDIUM, 10 * 2000, 10 * 300)
    large = _usd_saving(LARGE, 4 * 1000, 4 * 1000)
    assert [(s["model"], Decimal(s["saving_usd"])) for s in opt["suggestions"]] == sorted(
        [(MEDIUM, medium), (LARGE, large)], key=lambda pair: -pair[1])
    assert Decimal(opt["total_saving_usd"]) == medium + large
    assert {s["suggested_model"] for s in opt["suggestions"]} == {SMALL}
    skipped = {(s["model"], s["backend"]) for s in opt["skipped"]}
    assert skipped == {(MEDIUM, "gpu"), ("mystery-model", "serverless")}
    assert report["type"] == "optimization" and report["metrics"]["pushed"] is False
    assert len(report["breakdown"]["month"]) == 5
    assert aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test")["Metrics"] == []


def test_standard_pushes_and_detailed_adds_the_breakdown(aws, ledger, gateway, capsys, pinned_now):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL, count=2)
    code, out, _ = _run(capsys, aws, gateway.url, "--type", "standard")
    report = json.loads(out)
    assert code == 0 and report["type"] == "standard" and "breakdown" not in report
    assert report["metrics"]["pushed"] is True
    assert aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test", MetricName="DailyCost")["Metrics"]
    code, out, _ = _run(capsys, aws, gateway.url, "--type", "detailed", "--dry-run")
    detailed = json.loads(out)
    assert detailed["breakdown"]["day"][0]["requests"] == 2
    assert detailed["day"] == report["day"]


def test_fail_on_turns_a_budget_status_into_an_exit_code(aws, ledger, gateway, capsys, pinned_now):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL, cost_pico=usd_to_pico("40"))  # 80 % of 50
    assert _run(capsys, aws, gateway.url, "--dry-run", "--fail-on", "warning")[0] == 3
    assert _run(capsys, aws, gateway.url, "--dry-run", "--fail-on", "exceeded")[0] == 0


def test_flags_override_the_environment_and_bad_values_exit_2(aws, ledger, gateway, capsys, pinned_now):
    code, out, err = _run(capsys, aws, gateway.url, "--daily-budget", "free")
    assert code == 2 and out == ""
    assert "DAILY_BUDGET_USD" in json.loads(err)["message"]
    code, out, _ = _run(capsys, aws, gateway.url, "--dry-run", "--stack", "prod", "--daily-budget", "7.5")
    report = json.loads(out)
    assert report["stack"] == "prod" and report["day"]["budget_usd"] == "7.5"


def test_a_failed_read_exits_1_with_the_reason_on_stderr(aws, ledger, gateway, capsys, pinned_now):
    gateway.fault = "unauthorized"
    code, out, err = _run(capsys, aws, gateway.url, "--dry-run")
    assert code == 1 and out == ""
    error = json.loads(err)
    assert error["error"] == "UsageReadError" and "HTTP 401" in error["message"]
    assert GATEWAY_TOKEN not in err


def test_the_module_runs_as_a_command_without_aws(ledger, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(GATEWAY_TOKEN + "\n")
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    clean |= {"PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)]), env.METRIC_NAMESPACE: "X",
              env.STACK_NAME: "local", env.DAILY_BUDGET_USD: "50", env.MONTHLY_BUDGET_USD: "1000"}
    with gateway_standin(ledger, GATEWAY_TOKEN, lambda: datetime.now(UTC)) as gateway:
        add_usage(ledger, datetime.now(UTC), SMALL, count=3)
        proc = subprocess.run(
            [sys.executable, "-m", "cost_tracker.cli", "--dry-run", "--gateway-url", gateway.url,
             "--gateway-token-file", str(token_file)],
            env=clean, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["requests_day"] == 3 and report["metrics"]["pushed"] is False
    assert GATEWAY_TOKEN not in proc.stdout + proc.stderr


def test_a_bad_catalog_is_refused_before_any_call(aws, ledger, gateway, capsys, tmp_path, pinned_now):
    broken = tmp_path / "catalog.json"
    broken.write_text('{"models": [{"id": "m", "tier": "tiny"}]}')
    code, out, err = _run(capsys, aws, gateway.url, "--type", "optimization", "--catalog", str(broken))
    assert code == 2 and out == ""
    assert "catalog.models[0].tier: 'tiny' is not one of small, medium, large" in json.loads(err)["message"]
    assert gateway.requests == []
