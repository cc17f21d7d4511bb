"""The serverless-vs-GPU comparison recomputes the plan's cost table exactly."""

from __future__ import annotations

from decimal import Decimal

from demo.cost_model import breakeven_tokens, compare, serverless_monthly_pico
from demo.cost_table import PLAN_GPU_MONTHLY_USD, render
from llm_shared.catalog import default_catalog
from llm_shared.money import usd_to_pico

SMALL = default_catalog().get("llama3.1-8b-instruct")


def test_plan_workloads_at_catalog_prices():
    light = compare(SMALL, 1_000_000, PLAN_GPU_MONTHLY_USD)
    assert light.serverless_pico == usd_to_pico("0.07")
    assert light.gpu_pico == usd_to_pico("1290")
    assert light.savings_percent == Decimal("99.99")
    # The plan's "$70 for 1M tokens" is what 1 billion tokens cost at $0.07/M.
    assert compare(SMALL, 1_000_000_000, PLAN_GPU_MONTHLY_USD).savings_percent == Decimal("94.57")


def test_breakeven_is_the_first_token_count_where_the_gpu_wins():
    tokens = breakeven_tokens(SMALL, PLAN_GPU_MONTHLY_USD)
    gpu = usd_to_pico(PLAN_GPU_MONTHLY_USD)
    assert serverless_monthly_pico(SMALL, tokens) >= gpu > serverless_monthly_pico(SMALL, tokens - 1)


def test_output_share_prices_completions_separately():
    model = default_catalog().get("llama3.1-70b-instruct-fp8")
    assert serverless_monthly_pico(model, 1_000_000, Decimal("0.25")) == usd_to_pico("0.35")


def test_rendered_table_lists_every_tier():
    table = render()
    for model in default_catalog():
        assert model.id in table
    assert "| Light (1,000,000) | $1,290.00 | $0.07 (99.99% less)" in table


def test_readme_cost_table_is_the_codes_output():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert render() in readme
    first_screen = "\n".join(readme.splitlines()[:8])
    assert "make demo" in first_screen and "make test" in first_screen
