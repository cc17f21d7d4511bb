"""The intent parser against the labelled sentences, compared with the plan's keyword match."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llm_ops.intents import INTENTS, RUN, UNKNOWN, parse
from llm_shared.catalog import parse_catalog

from .keyword_baseline import classify as keyword_classify

DATA = Path(__file__).resolve().parent.parent / "data"
SLOTS = ("intent", "cost_priority", "model", "period")


def _load(name: str) -> list[dict]:
    return json.loads((DATA / name).read_text(encoding="utf-8"))["sentences"]


LABELLED = _load("ops_intents.json")
HOLDOUT = _load("ops_intents_holdout.json")


def _score(rows: list[dict], classify) -> tuple[float, float]:
    """(intent accuracy, whole-parse accuracy: intent and every slot right)."""
    intent = whole = 0
    for row in rows:
        got = classify(row["text"])
        intent += got["intent"] == row["intent"]
        whole += all(got[k] == row[k] for k in SLOTS)
    return intent / len(rows), whole / len(rows)


def test_the_labelled_set_is_big_enough_and_uses_only_known_labels() -> None:
    assert len(LABELLED) >= 80
    assert {row["intent"] for row in LABELLED} == set(INTENTS)
    assert sum(row["source"] in ("plan", "issue") for row in LABELLED) >= 14


@pytest.mark.parametrize(("name", "rows"), [("labelled", LABELLED), ("holdout", HOLDOUT)])
def test_parser_beats_the_keyword_match(name: str, rows: list[dict], capsys: pytest.CaptureFixture) -> None:
    parser = _score(rows, lambda text: parse(text).slots())
    baseline = _score(rows, keyword_classify)
    with capsys.disabled():
        print(f"\nintent parser on {len(rows)} {name} sentences: intent {parser[0]:.1%}, whole parse "
              f"{parser[1]:.1%}; keyword baseline: intent {baseline[0]:.1%}, whole parse {baseline[1]:.1%}")
    assert parser[0] >= 0.9 and parser[1] >= 0.85
    assert parser[0] - baseline[0] >= 0.3 and parser[1] - baseline[1] >= 0.3


@pytest.mark.parametrize("row", [r for r in LABELLED if r["source"] in ("plan", "issue")],
                         ids=lambda r: r["text"][:40])
def test_every_example_of_the_plans_parses_as_labelled(row: dict) -> None:
    assert parse(row["text"]).slots() == {k: row[k] for k in SLOTS}


def test_no_question_about_costs_or_routing_is_ever_run() -> None:
    """A `run` spends money on a model: a sentence labelled anything else must never become one."""
    wrongly_run = [r["text"] for r in LABELLED + HOLDOUT
                   if r["intent"] != RUN and parse(r["text"]).intent == RUN]
    assert wrongly_run == []


@pytest.mark.parametrize("text", ["Deploy the stack to production", "pulumi up", "Destroy the staging stack",
                                  "restart the gateway host"])
def test_infrastructure_commands_are_not_understood(text: str) -> None:
    assert parse(text).intent == UNKNOWN


def test_model_aliases_come_from_the_catalog_in_use() -> None:
    catalog = parse_catalog({"models": [
        {"id": model_id, "tier": tier, "context_window": 8192, "input_usd_per_million": price}
        for model_id, tier, price in (("qwen2.5-7b-instruct", "small", "0.05"),
                                      ("qwen2.5-72b-instruct", "medium", "0.4"),
                                      ("deepseek-r1", "large", "2"))]})
    assert parse("summarize this with the 72b", catalog).model == "qwen2.5-72b-instruct"
    assert parse("what would deepseek cost for this essay", catalog).model == "deepseek-r1"
    assert parse("write a poem on the smallest model", catalog).model == "qwen2.5-7b-instruct"
    assert parse("write a poem on the 8b", catalog).model is None  # not a model of this catalog


def test_a_run_sends_the_task_without_the_steering_words() -> None:
    result = parse("Summarize these documents with low cost priority")
    assert (result.intent, result.cost_priority) == (RUN, "low_cost")
    assert result.prompt == "Summarize these documents"
    explained = parse("Explain the routing for: design a multi-region database")
    assert explained.prompt == "design a multi-region database"
    assert parse("Where would 'hello there' be routed?").prompt == "hello there"


def test_two_models_named_leave_the_model_slot_empty() -> None:
    assert parse("compare the 8b and the 70b on this summary").model is None
