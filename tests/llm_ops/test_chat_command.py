"""The plain-language command end to end against a real gateway; cost questions never reach a model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from llm_ops.chat import act
from llm_ops.intents import RUN, UNKNOWN, parse
from tests.gateway.conftest import ADMIN_TOKEN, CLIENT_TOKEN, SMALL

from .conftest import ledger_totals
from .test_intents import HOLDOUT, LABELLED

ROOT = Path(__file__).resolve().parents[2]


def _chat(gw, tmp_path: Path, *args: str, admin: bool = True) -> subprocess.CompletedProcess[str]:
    (tmp_path / "client.token").write_text(CLIENT_TOKEN)
    (tmp_path / "admin.token").write_text(ADMIN_TOKEN)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{ROOT / 'functions'}{os.pathsep}{ROOT}",
           "GATEWAY_URL": gw.url, "GATEWAY_TOKEN_FILE": str(tmp_path / "client.token")}
    if admin:
        env["GATEWAY_ADMIN_TOKEN_FILE"] = str(tmp_path / "admin.token")
    return subprocess.run([sys.executable, "-m", "llm_ops.chat", *args], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def test_classify_prints_the_parse_and_needs_no_gateway(tmp_path):
    done = subprocess.run([sys.executable, "-m", "llm_ops.chat", "--classify",
                           "Summarize these documents with low cost priority using the 8b"],
                          env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT / "functions")},
                          capture_output=True, text=True, timeout=30, check=True)
    assert json.loads(done.stdout) == {"intent": "run", "cost_priority": "low_cost", "model": SMALL,
                                       "period": None}


def test_a_cost_question_is_answered_from_the_ledger_without_a_model_call(gw, backends, tmp_path):
    assert gw.chat({"model": "auto", "messages": [{"role": "user", "content": "hello"}]}).status_code == 200
    before = ledger_totals(gw)
    done = _chat(gw, tmp_path, "How much did we spend today?")
    assert done.returncode == 0, done.stderr
    cost_usd = f"{before[3] / 10**12:.12f}".rstrip("0")
    assert done.stdout.startswith(f"Today: ${cost_usd} over 1 requests")
    assert "of the $100 budget, status ok" in done.stdout and SMALL in done.stdout
    assert ledger_totals(gw) == before and backends.serverless.app.request_count == 1


def test_a_run_sends_the_prompt_once_and_reports_cost_and_budget_share(gw, backends, tmp_path):
    done = _chat(gw, tmp_path, "--json", "Summarize this with low cost priority: the meeting moved to 3pm")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    (request_id, model, backend, _prompt, _completion, cost, *_), = gw.rows()
    result = out["result"]
    assert (out["intent"], out["cost_priority"]) == ("run", "low_cost")
    assert (result["request_id"], result["model"], result["backend"], result["cost_pico"]) == \
        (request_id, model, backend, cost)
    assert backends.serverless.last_request()["body"]["messages"] == [
        {"role": "user", "content": "the meeting moved to 3pm"}]
    daily_budget_pico = 100 * 10**12
    assert Decimal(result["percent_of_daily_budget"]) == (Decimal(cost) * 100 / daily_budget_pico).quantize(
        Decimal("0.000001"))
    human = _chat(gw, tmp_path, "Write a haiku about autumn", admin=False)
    assert human.returncode == 0 and f"on {backend}" in human.stdout and "% of today" not in human.stdout
    assert len(gw.rows()) == 2


def test_unknown_and_infrastructure_sentences_ask_back_and_do_nothing(gw, backends, tmp_path):
    for sentence in ("what's the weather in Paris?", "Deploy the stack to production"):
        done = _chat(gw, tmp_path, sentence)
        assert done.returncode == 1 and "I never deploy infrastructure" in done.stdout
    assert gw.rows() == [] and backends.serverless.app.request_count == backends.gpu.app.request_count == 0


def test_no_labelled_sentence_but_a_run_sends_anything_to_a_model(gw, backends, admin):
    """Every check/optimize/estimate/explain sentence acts through the gateway: zero ledger rows."""
    acted = 0
    for row in LABELLED + HOLDOUT:
        parsed = parse(row["text"])
        if parsed.intent in (RUN, UNKNOWN):
            continue
        act(parsed, admin)
        acted += 1
    assert acted >= 60
    assert gw.rows() == [] and backends.serverless.app.request_count == backends.gpu.app.request_count == 0
