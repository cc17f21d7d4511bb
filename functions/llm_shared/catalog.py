"""The model catalog: ids, tiers, context windows and prices, loaded from one JSON file.

Both the gateway and the cost tracker price tokens from this catalog, so prices cannot drift
between what is charged and what is reported. Operators point LLM_CATALOG_PATH at their own
file when their provider's prices differ.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError, UnknownModelError
from .money import usd_to_pico

# The variable naming an operator's catalog file: the gateway and the tracker's CLI read the same one.
CATALOG_PATH_ENV = "LLM_CATALOG_PATH"
TIERS = ("small", "medium", "large")
TOKENS_PER_PRICE_UNIT = 1_000_000


@dataclass(frozen=True, slots=True)
class Model:
    """One catalog entry; prices are picodollars per token (exact ints)."""

    id: str
    display_name: str
    tier: str
    context_window: int
    input_usd_per_million: Decimal
    output_usd_per_million: Decimal
    input_pico_per_token: int
    output_pico_per_token: int


class Catalog:
    """An immutable, validated set of models with tier look-ups."""

    def __init__(self, models: list[Model]) -> None:
        if not models:
            raise ConfigError("catalog: at least one model is required")
        self._by_id: dict[str, Model] = {}
        for model in models:
            if model.id in self._by_id:
                raise ConfigError(f"catalog: duplicate model id {model.id!r}")
            self._by_id[model.id] = model

    def __iter__(self):
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, model_id: object) -> bool:
        return model_id in self._by_id

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def get(self, model_id: str) -> Model:
        """The model with this id, or UnknownModelError listing the known ids."""
        try:
            return self._by_id[model_id]
        except KeyError:
            raise UnknownModelError(model_id, self.ids) from None

    def for_tier(self, tier: str) -> Model:
        """The cheapest model of a tier (the router picks models by tier)."""
        if tier not in TIERS:
            raise ConfigError(f"tier {tier!r} is not one of {', '.join(TIERS)}")
        candidates = [m for m in self._by_id.values() if m.tier == tier]
        if not candidates:
            raise ConfigError(f"catalog has no model of tier {tier!r}")
        return min(candidates, key=lambda m: (m.input_pico_per_token + m.output_pico_per_token))

    def cheapest(self) -> Model:
        """The model with the lowest combined per-token price."""
        return min(self._by_id.values(), key=lambda m: m.input_pico_per_token + m.output_pico_per_token)

    def check_model_map(self, mapping: object) -> dict[str, str]:
        """A GPU model map (catalog id -> the name the GPU server serves it under), validated: an
        object whose keys are catalog ids and whose values are non-empty strings. The one check the
        stack settings (preview) and the gateway (start) both apply."""
        if not isinstance(mapping, Mapping):
            raise ConfigError("expected a JSON object of catalog id -> GPU server model name")
        for model_id, served in mapping.items():
            self.get(model_id)
            if not isinstance(served, str) or not served.strip():
                raise ConfigError(f"the GPU server model name for {model_id!r} must be a non-empty string")
        return dict(mapping)


def _price(entry: dict[str, Any], key: str, where: str) -> tuple[Decimal, int]:
    raw = entry.get(key)
    if isinstance(raw, float | bool) or raw is None:
        raise ConfigError(f"{where}.{key}: give the price as a string such as \"0.35\", got {raw!r}")
    per_million = Decimal(str(raw))
    if not per_million.is_finite() or per_million < 0:
        raise ConfigError(f"{where}.{key}: price must be a number >= 0, got {raw!r}")
    per_token_usd = per_million / TOKENS_PER_PRICE_UNIT
    return per_million, usd_to_pico(per_token_usd, name=f"{where}.{key}")


def parse_catalog(data: dict[str, Any]) -> Catalog:
    """Validate a catalog document (see catalog.json) into a Catalog."""
    entries = data.get("models") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError("catalog: expected an object with a 'models' list")
    models = []
    for index, entry in enumerate(entries):
        where = f"catalog.models[{index}]"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected an object")
        model_id = entry.get("id")
        if not isinstance(model_id, str) or not model_id:
            raise ConfigError(f"{where}.id: a non-empty string is required")
        tier = entry.get("tier")
        if tier not in TIERS:
            raise ConfigError(f"{where}.tier: {tier!r} is not one of {', '.join(TIERS)}")
        window = entry.get("context_window")
        if not isinstance(window, int) or isinstance(window, bool) or window <= 0:
            raise ConfigError(f"{where}.context_window: a positive integer is required")
        in_m, in_p = _price(entry, "input_usd_per_million", where)
        out_key = "output_usd_per_million" if "output_usd_per_million" in entry else "input_usd_per_million"
        out_m, out_p = _price(entry, out_key, where)
        models.append(
            Model(
                id=model_id,
                display_name=str(entry.get("display_name") or model_id),
                tier=tier,
                context_window=window,
                input_usd_per_million=in_m,
                output_usd_per_million=out_m,
                input_pico_per_token=in_p,
                output_pico_per_token=out_p,
            )
        )
    return Catalog(models)


def load_catalog(path: str | os.PathLike[str] | None = None) -> Catalog:
    """Load a catalog file; the packaged default when no path is given."""
    if path is None:
        text = resources.files(__package__).joinpath("catalog.json").read_text(encoding="utf-8")
        where = "packaged catalog.json"
    else:
        where = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"catalog file {where}: cannot read ({exc.strerror})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"catalog file {where}: invalid JSON ({exc.msg} at line {exc.lineno})") from exc
    return parse_catalog(data)


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The packaged catalog, parsed once per process."""
    return load_catalog()
