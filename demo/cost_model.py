"""Serverless vs dedicated-GPU monthly cost, for planning and the README's cost table.

Pure maths on the catalog's exact prices, so the published comparison is recomputed by the same
code that prices real requests (a test keeps the README's table equal to this module's output).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llm_shared.catalog import Model
from llm_shared.money import pico_to_usd, usd_to_pico
from llm_shared.pricing import cost_pico


@dataclass(frozen=True, slots=True)
class Comparison:
    tokens_per_month: int
    model_id: str
    serverless_pico: int
    gpu_pico: int

    @property
    def savings_percent(self) -> Decimal:
        """How much cheaper serverless is than the GPU, in percent (negative when dearer)."""
        return (Decimal(self.gpu_pico - self.serverless_pico) * 100 / Decimal(self.gpu_pico)).quantize(
            Decimal("0.01"))


def serverless_monthly_pico(model: Model, tokens_per_month: int, output_share: Decimal = Decimal(0)) -> int:
    """Cost of a month's tokens on the pay-per-token API; `output_share` of them are completions."""
    completion = int(Decimal(tokens_per_month) * output_share)
    return cost_pico(model, tokens_per_month - completion, completion)


def compare(model: Model, tokens_per_month: int, gpu_monthly_usd: Decimal | str) -> Comparison:
    return Comparison(tokens_per_month, model.id, serverless_monthly_pico(model, tokens_per_month),
                      usd_to_pico(gpu_monthly_usd, name="gpu monthly cost"))


def breakeven_tokens(model: Model, gpu_monthly_usd: Decimal | str) -> int:
    """Monthly tokens above which the dedicated GPU becomes cheaper than serverless."""
    per_token = model.input_pico_per_token
    return -(-usd_to_pico(gpu_monthly_usd, name="gpu monthly cost") // per_token)


def usd(pico: int) -> str:
    """Dollars with cents, for tables."""
    return f"${pico_to_usd(pico).quantize(Decimal('0.01')):,}"
