"""The complexity estimate on labelled prompts, and the routing matrix from the plan."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from llm_shared import routing
from llm_shared.complexity import HIGH, LOW, MEDIUM, estimate
from llm_shared.errors import ConfigError, UnknownModelError

LABELLED = json.loads((Path(__file__).parents[1] / "data" / "complexity_prompts.json").read_text())["prompts"]
SMALL, MEDIUM_MODEL, LARGE = ("llama3.1-8b-instruct", "llama3.1-70b-instruct-fp8",
                              "llama-4-maverick-17b-128e-instruct-fp8")


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def keyword_baseline(text: str) -> str:
    """What the plan's sketch would do: a keyword match."""
    lowered = text.lower()
    if any(k in lowered for k in ("complex", "analyze", "detailed")):
        return HIGH
    if len(lowered) < 40:
        return LOW
    return MEDIUM


def accuracy(classify) -> float:
    return sum(classify(item["prompt"]) == item["label"] for item in LABELLED) / len(LABELLED)


def test_labelled_set_covers_every_level():
    assert {item["label"] for item in LABELLED} == {LOW, MEDIUM, HIGH}
    assert len(LABELLED) >= 30


def test_estimator_is_accurate_and_beats_a_keyword_match():
    ours = accuracy(lambda text: estimate(user(text)).level)
    baseline = accuracy(keyword_baseline)
    assert ours >= 0.9, ours
    assert ours > baseline + 0.2, (ours, baseline)


def test_each_feature_moves_the_score():
    base = estimate(user("Explain how DNS resolution works.")).score
    assert estimate(user("Explain how DNS resolution works. " + "Consider caching. " * 40)).score > base
    assert estimate(user("Explain how DNS resolution works.\n```\ndig example.com\n```")).score > base
    assert estimate(user("Explain how DNS resolution works? Why? What fails? How to fix?")).score > base
    assert estimate(user("Explain how DNS resolution works.\n1. stub\n2. recursive\n3. root")).score > base
    assert estimate(user("Explain how DNS resolution works, step by step, in detail.")).score > base
    assert estimate(user("Briefly, in one sentence: explain how DNS resolution works.")).score < base


def test_long_conversation_context_counts():
    history = [{"role": "user", "content": "Tell me about our design. " * 120},
               {"role": "assistant", "content": "Here is a long answer. " * 200}] * 2
    short = estimate(user("And the next step?")).score
    assert estimate([*history, *user("And the next step?")]).score > short


def test_content_parts_are_read():
    text = "Prove that sqrt(2) is irrational, step by step."
    parts = [{"role": "user", "content": [{"type": "text", "text": text}]}]
    assert estimate(parts).level != LOW


def never(*_):
    raise AssertionError("rng must not be drawn here")


@pytest.mark.parametrize(
    ("text", "priority", "backend", "model"),
    [
        # The plan's model-selection matrix.
        ("What is the capital of France?", "balanced", "serverless", SMALL),
        ("What is the capital of France?", "performance", "serverless", SMALL),
        ("What is the capital of France?", "latency_critical", "serverless", SMALL),
        (LABELLED[-1]["prompt"], "low_cost", "serverless", SMALL),
        (LABELLED[-1]["prompt"], "latency_critical", "gpu", LARGE),
        (LABELLED[15]["prompt"], "latency_critical", "gpu", MEDIUM_MODEL),
    ],
)
def test_rules_without_a_random_draw(text, priority, backend, model):
    decision = routing.decide(user(text), rng=never, cost_priority=priority)
    assert (decision.backend, decision.model) == (backend, model)
    assert decision.fallback_backend == routing.other_backend(backend)
    assert decision.reason


def test_medium_and_high_use_the_ratio_split():
    medium = routing.decide(user(LABELLED[15]["prompt"]), rng=lambda: 0.5, cost_priority="balanced")
    assert (medium.backend, medium.model, medium.complexity) == ("serverless", MEDIUM_MODEL, MEDIUM)
    high = routing.decide(user(LABELLED[-1]["prompt"]), rng=lambda: 0.95, cost_priority="performance")
    assert (high.backend, high.model, high.fallback_backend) == ("gpu", LARGE, "serverless")


@pytest.mark.parametrize("ratio", [0.0, 0.2, 0.8, 1.0])
def test_ratio_split_statistics_with_a_seeded_generator(ratio):
    rng = random.Random(20261125)
    n = 20_000
    serverless = sum(
        routing.decide(user("x"), rng=rng.random, complexity=estimate(user(LABELLED[15]["prompt"])),
                       serverless_ratio=ratio).backend == "serverless"
        for _ in range(n)
    )
    share = serverless / n
    # Binomial standard deviation at n=20k is <= 0.0036; allow 4 sigma.
    assert abs(share - ratio) <= 0.015, share
    if ratio in (0.0, 1.0):
        assert share == ratio


def test_decision_is_deterministic_for_the_same_draws():
    a = routing.decide(user(LABELLED[15]["prompt"]), rng=random.Random(7).random)
    b = routing.decide(user(LABELLED[15]["prompt"]), rng=random.Random(7).random)
    assert a == b


def test_forced_backend_and_explicit_model():
    forced = routing.decide(user("hi"), rng=never, force_backend="gpu")
    assert (forced.backend, forced.model, forced.fallback_backend) == ("gpu", SMALL, "serverless")
    explicit = routing.decide(user("hi"), rng=never, model=LARGE)
    assert (explicit.backend, explicit.model) == ("serverless", LARGE)
    auto = routing.decide(user("hi"), rng=never, model="auto")
    assert auto.model == SMALL


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cost_priority": "cheap"}, ConfigError, "cost priority 'cheap' is not one of low_cost"),
        ({"force_backend": "tpu"}, ConfigError, "backend 'tpu' is not one of serverless, gpu"),
        ({"serverless_ratio": 1.5}, ConfigError, r"serverless ratio must be a number in \[0, 1\]"),
        ({"serverless_ratio": True}, ConfigError, "serverless ratio"),
        ({"model": "gpt-9"}, UnknownModelError, "known models"),
    ],
)
def test_bad_routing_inputs(kwargs, error, message):
    with pytest.raises(error, match=message):
        routing.decide(user("hi"), rng=never, **kwargs)


GPU_SMALL_ONLY = {SMALL}


def test_a_model_the_gpu_host_does_not_serve_goes_serverless_without_gpu_fallback():
    decision = routing.decide(user(LABELLED[15]["prompt"]), rng=lambda: 0.95, gpu_models=GPU_SMALL_ONLY)
    assert (decision.backend, decision.model) == ("serverless", MEDIUM_MODEL)
    assert decision.fallback_backend is None and decision.attempts == ("serverless",)
    assert "does not serve" in decision.reason
    # A served model keeps the ratio split and its GPU fallback.
    small = routing.decide(user(LABELLED[15]["prompt"]), rng=lambda: 0.95, cost_priority="low_cost",
                           gpu_models=GPU_SMALL_ONLY)
    assert small.attempts == ("serverless", "gpu")


def test_forced_gpu_and_latency_critical_take_the_best_served_model():
    hard = user(LABELLED[-1]["prompt"])
    forced = routing.decide(hard, rng=never, force_backend="gpu", gpu_models=GPU_SMALL_ONLY)
    assert (forced.backend, forced.model, forced.attempts) == ("gpu", SMALL, ("gpu", "serverless"))
    urgent = routing.decide(hard, rng=never, cost_priority="latency_critical",
                            gpu_models={SMALL, MEDIUM_MODEL})
    assert (urgent.backend, urgent.model) == ("gpu", MEDIUM_MODEL)  # closest tier below large
    explicit = routing.decide(hard, rng=never, model=LARGE, force_backend="gpu", gpu_models=GPU_SMALL_ONLY)
    assert (explicit.backend, explicit.model, explicit.attempts) == ("serverless", LARGE, ("serverless",))


def test_without_a_served_list_every_model_is_on_the_gpu():
    decision = routing.decide(user(LABELLED[-1]["prompt"]), rng=never, cost_priority="latency_critical")
    assert (decision.backend, decision.model, decision.attempts) == ("gpu", LARGE, ("gpu", "serverless"))
