"""Bounds on the usage a backend reports: it is untrusted input, like the request.

No backend can bill more prompt tokens than the model's context window, nor more completion tokens
than the request allowed (`max_tokens`, or the window without it, times `n`). Counts beyond that
are a lie or a bug: the gateway records the bound instead and flags the row as estimated, so one
bad answer can neither overflow the ledger's 64-bit integers nor use up the month's budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from llm_shared.catalog import Model
from llm_shared.pricing import cost_pico

from .chat_request import MAX_N

INT64_MAX = 2**63 - 1  # SQLite INTEGER


def completion_cap(model: Model, max_tokens: int | None, n: int) -> int:
    """The most completion tokens a request may be billed: what it reserves and what is recorded."""
    return (max_tokens or model.context_window) * n


@dataclass(frozen=True, slots=True)
class UsageBounds:
    prompt: int
    completion: int

    def clamp(self, prompt: int, completion: int) -> tuple[int, int, bool]:
        """(prompt, completion, clamped): the counts within the bounds, and whether they had to move."""
        bounded = min(prompt, self.prompt), min(completion, self.completion)
        return bounded[0], bounded[1], bounded != (prompt, completion)


def usage_bounds(model: Model, max_tokens: int | None, n: int) -> UsageBounds:
    return UsageBounds(prompt=model.context_window, completion=completion_cap(model, max_tokens, n))


def largest_cost_pico(model: Model) -> int:
    """The cost of the largest request the gateway can record for this model (checked at start)."""
    bounds = usage_bounds(model, None, MAX_N)
    return cost_pico(model, bounds.prompt, bounds.completion)
