"""The cost monitor workflow's report script against a real gateway stand-in, moto and a real ledger:
report mode only (nothing pushed), an issue body only at or above the warning threshold, and a failed
read fails the script instead of reporting zero."""

from __future__ import annotations

import importlib.util
import json
from datetime import timedelta
from pathlib import Path

import pytest

from llm_shared.money import usd_to_pico

from .conftest import GATEWAY_TOKEN, NOW, SMALL, add_usage, make_env

SCRIPT = Path(__file__).resolve().parents[2] / ".github" / "scripts" / "cost_report.py"
spec = importlib.util.spec_from_file_location("cost_report", SCRIPT)
assert spec and spec.loader
cost_report = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cost_report)


@pytest.fixture(autouse=True)
def pinned_now(monkeypatch):
    import cost_tracker.run as run_module

    real = run_module.run_once
    monkeypatch.setattr("cost_tracker.cli.run_once", lambda s, d, **kw: real(s, d, now=NOW, **kw))


def report(tmp_path: Path, environ: dict[str, str], kind: str = "standard") -> tuple[int, Path]:
    lambda_env = tmp_path / "tracker-env.json"
    lambda_env.write_text(json.dumps(environ))
    out = tmp_path / "out"
    code = cost_report.main(["--stack", "staging", "--type", kind, "--lambda-env", str(lambda_env),
                             "--out", str(out), "--run-url", "https://example.test/run/1"])
    return code, out


def test_below_the_warning_threshold_there_is_a_report_and_no_issue(aws, ledger, gateway, tmp_path, capsys):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL, cost_pico=usd_to_pico("10"))  # 20 % of 50
    code, out = report(tmp_path, make_env(aws, gateway.url))
    assert code == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["status=ok", "alert=false"]
    assert json.loads((out / "report.json").read_text())["day"]["spent_usd"] == "10"
    assert not (out / "issue.md").exists()
    assert not aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test")["Metrics"]  # report mode


def test_at_the_warning_threshold_the_issue_body_has_the_figures(aws, ledger, gateway, tmp_path, capsys):
    add_usage(ledger, NOW - timedelta(hours=1), SMALL, cost_pico=usd_to_pico("40"))  # 80 % of 50
    code, out = report(tmp_path, make_env(aws, gateway.url), kind="detailed")
    assert code == 0 and capsys.readouterr().out.splitlines()[-1] == "alert=true"
    body = (out / "issue.md").read_text()
    assert body.startswith("## Stack `staging`: warning")
    assert "| day | 40 | 50 | 80.00 % | warning |" in body
    assert "https://example.test/run/1" in body and '"breakdown"' in body
    assert GATEWAY_TOKEN not in body
    assert not aws.cloudwatch.list_metrics(Namespace="LLMCostGovernance/test")["Metrics"]


def test_a_failed_read_fails_the_script_without_a_report(aws, ledger, tmp_path, capsys):
    code, out = report(tmp_path, make_env(aws, "http://127.0.0.1:9"))  # nothing listens there
    assert code == 1
    err = capsys.readouterr().err
    assert "the cost tracker CLI failed (exit 1)" in err and GATEWAY_TOKEN not in err
    assert not out.exists()


def test_a_lambda_environment_that_is_not_an_object_of_strings_is_refused(tmp_path, capsys):
    code, _ = report(tmp_path, {"DAILY_BUDGET_USD": 50})  # type: ignore[dict-item]
    assert code == 1 and "JSON object of strings" in capsys.readouterr().err
