"""Cost of a request from its token counts, in exact picodollars."""

from __future__ import annotations

from .catalog import Catalog, Model, default_catalog
from .errors import ConfigError


def _check_tokens(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"{name}: an integer token count is required, got {value!r}")
    if value < 0:
        raise ConfigError(f"{name}: token counts cannot be negative, got {value}")


def cost_pico(model: Model, prompt_tokens: int, completion_tokens: int) -> int:
    """Exact cost of one request at the model's input and output prices."""
    _check_tokens("prompt_tokens", prompt_tokens)
    _check_tokens("completion_tokens", completion_tokens)
    return prompt_tokens * model.input_pico_per_token + completion_tokens * model.output_pico_per_token


def cost_for(model_id: str, prompt_tokens: int, completion_tokens: int,
             catalog: Catalog | None = None) -> int:
    """Cost by model id; unknown ids raise UnknownModelError listing the known ones."""
    model = (catalog or default_catalog()).get(model_id)
    return cost_pico(model, prompt_tokens, completion_tokens)


def worst_case_cost_pico(model: Model, prompt_tokens: int, max_tokens: int | None) -> int:
    """Upper bound reserved before a call: the prompt plus every token it may generate."""
    completion = max_tokens if max_tokens is not None else max(model.context_window - prompt_tokens, 0)
    return cost_pico(model, prompt_tokens, completion)
