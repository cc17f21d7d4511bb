"""Catalog loading, validation and exact cost maths."""

from __future__ import annotations

import itertools
import json
from decimal import Decimal

import pytest

from llm_shared import catalog as cat
from llm_shared import pricing
from llm_shared.errors import ConfigError, UnknownModelError
from llm_shared.money import PICO_PER_USD, pico_to_usd, usd_to_pico

PLAN_PRICES = {
    "llama3.1-8b-instruct": ("small", Decimal("0.07")),
    "llama3.1-70b-instruct-fp8": ("medium", Decimal("0.35")),
    "llama-4-maverick-17b-128e-instruct-fp8": ("large", Decimal("0.88")),
}


def test_default_catalog_has_the_plan_models_and_prices():
    catalog = cat.default_catalog()
    assert sorted(catalog.ids) == sorted(PLAN_PRICES)
    for model_id, (tier, price) in PLAN_PRICES.items():
        model = catalog.get(model_id)
        assert model.tier == tier
        assert model.input_usd_per_million == price == model.output_usd_per_million
        assert model.context_window > 0


def test_tier_lookup_and_cheapest():
    catalog = cat.default_catalog()
    assert catalog.for_tier("small").id == "llama3.1-8b-instruct"
    assert catalog.for_tier("large").id == "llama-4-maverick-17b-128e-instruct-fp8"
    assert catalog.cheapest().id == "llama3.1-8b-instruct"
    with pytest.raises(ConfigError, match="tier 'huge'"):
        catalog.for_tier("huge")


def test_unknown_model_error_lists_known_models():
    with pytest.raises(UnknownModelError) as info:
        cat.default_catalog().get("gpt-17")
    message = str(info.value)
    assert "gpt-17" in message
    for model_id in PLAN_PRICES:
        assert model_id in message


def _doc(**overrides):
    entry = {"id": "m", "tier": "small", "context_window": 100, "input_usd_per_million": "1.5",
             "output_usd_per_million": "3"}
    entry.update(overrides)
    return {"models": [entry]}


def test_separate_input_and_output_prices():
    model = cat.parse_catalog(_doc()).get("m")
    assert pricing.cost_pico(model, 1_000_000, 0) == usd_to_pico("1.5")
    assert pricing.cost_pico(model, 0, 1_000_000) == usd_to_pico("3")


def test_output_price_defaults_to_input_price():
    doc = _doc()
    del doc["models"][0]["output_usd_per_million"]
    model = cat.parse_catalog(doc).get("m")
    assert model.output_pico_per_token == model.input_pico_per_token


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"tier": "xl"}, "tier: 'xl' is not one of small, medium, large"),
        ({"context_window": 0}, "context_window: a positive integer"),
        ({"input_usd_per_million": 0.35}, "give the price as a string"),
        ({"input_usd_per_million": "-1"}, "price must be a number >= 0"),
        ({"id": ""}, "id: a non-empty string"),
        ({"input_usd_per_million": "0.0000001"}, "more precision than a picodollar"),
    ],
)
def test_bad_catalog_entries_name_the_field(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        cat.parse_catalog(_doc(**override))


def test_duplicate_ids_and_empty_catalog_rejected():
    doc = _doc()
    doc["models"].append(dict(doc["models"][0]))
    with pytest.raises(ConfigError, match="duplicate model id 'm'"):
        cat.parse_catalog(doc)
    with pytest.raises(ConfigError, match="at least one model"):
        cat.parse_catalog({"models": []})


def test_load_catalog_from_file_and_bad_files(tmp_path):
    good = tmp_path / "c.json"
    good.write_text(json.dumps(_doc()))
    assert cat.load_catalog(good).ids == ["m"]
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ConfigError, match="invalid JSON"):
        cat.load_catalog(bad)
    with pytest.raises(ConfigError, match="cannot read"):
        cat.load_catalog(tmp_path / "missing.json")


def test_cost_is_exact_picodollars():
    model = cat.default_catalog().get("llama3.1-8b-instruct")
    # 1,234 prompt + 567 completion tokens at $0.07/M = $0.00012607
    assert pricing.cost_pico(model, 1234, 567) == usd_to_pico("0.00012607")
    assert pico_to_usd(pricing.cost_for("llama3.1-70b-instruct-fp8", 1_000_000, 0)) == Decimal("0.35")


@pytest.mark.parametrize(("prompt", "completion"), [(-1, 0), (0, -5), (1.5, 0), (True, 0), ("3", 0)])
def test_bad_token_counts_are_rejected(prompt, completion):
    model = cat.default_catalog().get("llama3.1-8b-instruct")
    with pytest.raises(ConfigError, match="token"):
        pricing.cost_pico(model, prompt, completion)


def test_cost_for_unknown_model_raises():
    with pytest.raises(UnknownModelError, match="known models"):
        pricing.cost_for("nope", 1, 1)


def test_ten_million_small_requests_sum_exactly():
    """Integer maths gives the exact total where float accumulation drifts."""
    catalog = cat.default_catalog()
    shapes = [("llama3.1-8b-instruct", 13, 7), ("llama3.1-70b-instruct-fp8", 31, 17),
              ("llama-4-maverick-17b-128e-instruct-fp8", 3, 1), ("llama3.1-8b-instruct", 1, 1)]
    costs = [pricing.cost_for(m, p, c, catalog) for m, p, c in shapes]
    n = 10_000_000
    total = sum(itertools.islice(itertools.cycle(costs), n))
    assert total == (n // len(costs)) * sum(costs)
    # $0.0000014 * 2.5M + $0.0000168 * 2.5M + $0.00000352 * 2.5M + $0.00000014 * 2.5M
    assert pico_to_usd(total) == Decimal("54.65")
    float_total = sum(itertools.islice(itertools.cycle([c / PICO_PER_USD for c in costs]), n))
    assert float_total != float(Decimal("54.65"))  # what this module exists to avoid


def test_worst_case_reservation_covers_max_tokens_or_context():
    model = cat.default_catalog().get("llama3.1-70b-instruct-fp8")
    assert pricing.worst_case_cost_pico(model, 100, 50) == pricing.cost_pico(model, 100, 50)
    assert pricing.worst_case_cost_pico(model, 100, None) == pricing.cost_pico(
        model, 100, model.context_window - 100)


def test_money_conversions_refuse_floats():
    with pytest.raises(ConfigError, match="not float"):
        usd_to_pico(0.1)
    with pytest.raises(ConfigError, match="not a number"):
        usd_to_pico("ten")
    with pytest.raises(ConfigError, match="finite"):
        usd_to_pico("Infinity")
    assert pico_to_usd(usd_to_pico("12.5")) == Decimal("12.5")
