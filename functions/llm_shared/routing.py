"""The routing decision: which backend and model serve a request, and why. Pure and deterministic.

Rules (from the plan's model-selection matrix), in order:
1. a forced backend wins (operators' override); the model follows the rules below;
2. low complexity or `low_cost` priority -> serverless with the small model;
3. `latency_critical` -> the GPU host;
4. high complexity -> the large model; anything else -> the medium model;
   the backend is split by the serverless ratio (default 0.8) using the injected random draw.
An explicit catalog model is kept as asked; only the backend is chosen for it.

A GPU host serves only the models it has loaded (`gpu_models`; None = every catalog model). A
model it does not serve goes serverless and has no GPU fallback; when the GPU is forced (the
operators' rollback lever) or the request is latency-critical, an `auto` request takes the best
model the host does serve instead.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from .catalog import TIERS, Catalog, default_catalog
from .complexity import HIGH, LOW, ComplexityEstimate, estimate
from .errors import ConfigError

SERVERLESS = "serverless"
GPU = "gpu"
BACKENDS = (SERVERLESS, GPU)

LOW_COST = "low_cost"
BALANCED = "balanced"
PERFORMANCE = "performance"
LATENCY_CRITICAL = "latency_critical"
PRIORITIES = (LOW_COST, BALANCED, PERFORMANCE, LATENCY_CRITICAL)

AUTO_MODEL = "auto"
DEFAULT_SERVERLESS_RATIO = 0.8


@dataclass(frozen=True, slots=True)
class RouteDecision:
    """Where a request goes; `fallback_backend` (if any) is tried once if the primary fails."""

    backend: str
    model: str
    fallback_backend: str | None
    reason: str
    complexity: str
    complexity_score: float

    @property
    def attempts(self) -> tuple[str, ...]:
        """The backends to try, in order."""
        return (self.backend,) if self.fallback_backend is None else (self.backend, self.fallback_backend)


def other_backend(backend: str) -> str:
    return GPU if backend == SERVERLESS else SERVERLESS


def validate_priority(priority: str | None) -> str:
    if priority is None or priority == "":
        return BALANCED
    if priority not in PRIORITIES:
        raise ConfigError(f"cost priority {priority!r} is not one of {', '.join(PRIORITIES)}")
    return priority


def validate_backend(backend: str | None) -> str | None:
    if backend is None or backend == "":
        return None
    if backend not in BACKENDS:
        raise ConfigError(f"backend {backend!r} is not one of {', '.join(BACKENDS)}")
    return backend


def validate_ratio(ratio: float) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0.0 <= ratio <= 1.0:
        raise ConfigError(f"serverless ratio must be a number in [0, 1], got {ratio!r}")
    return float(ratio)


def select_tier(complexity: str, priority: str) -> str:
    """Model tier by the plan's matrix."""
    if priority == LOW_COST or complexity == LOW:
        return "small"
    if complexity == HIGH:
        return "large"
    return "medium"


def decide(
    messages: Iterable[Mapping[str, object]],
    *,
    rng: Callable[[], float],
    model: str | None = None,
    cost_priority: str | None = None,
    force_backend: str | None = None,
    serverless_ratio: float = DEFAULT_SERVERLESS_RATIO,
    catalog: Catalog | None = None,
    complexity: ComplexityEstimate | None = None,
    gpu_models: Collection[str] | None = None,
) -> RouteDecision:
    """Choose backend and model. `rng()` returns a float in [0, 1) and is drawn at most once."""
    catalog = catalog or default_catalog()
    priority = validate_priority(cost_priority)
    forced = validate_backend(force_backend)
    ratio = validate_ratio(serverless_ratio)
    est = complexity or estimate(messages)

    explicit = bool(model and model != AUTO_MODEL)
    if explicit:
        chosen_model = catalog.get(str(model)).id
        model_reason = f"model {chosen_model} requested"
    else:
        tier = select_tier(est.level, priority)
        chosen_model = catalog.for_tier(tier).id
        model_reason = f"{tier} model for {est.level} complexity, {priority}"

    if forced:
        backend, why = forced, f"backend forced to {forced}"
    elif est.level == LOW or priority == LOW_COST:
        backend, why = SERVERLESS, "low complexity or low_cost goes serverless"
    elif priority == LATENCY_CRITICAL:
        backend, why = GPU, "latency_critical goes to the GPU host"
    else:
        draw = rng()
        backend = SERVERLESS if draw < ratio else GPU
        why = f"ratio split {ratio:.2f} (draw {draw:.3f})"

    if backend == GPU and gpu_models is not None and chosen_model not in gpu_models:
        # Forced or latency-critical traffic must stay on the GPU: a smaller served model beats none.
        must_gpu = forced == GPU or (forced is None and priority == LATENCY_CRITICAL)
        substitute = _best_served(catalog, chosen_model, gpu_models) if must_gpu and not explicit else None
        if substitute is None:
            backend, why = SERVERLESS, f"{why}, but the GPU host does not serve {chosen_model}"
        else:
            why = f"{why}; the GPU host serves {substitute}, not {chosen_model}"
            chosen_model = substitute
    fallback: str | None = other_backend(backend)
    if fallback == GPU and gpu_models is not None and chosen_model not in gpu_models:
        fallback = None
    return RouteDecision(
        backend=backend,
        model=chosen_model,
        fallback_backend=fallback,
        reason=f"{why}; {model_reason}",
        complexity=est.level,
        complexity_score=est.score,
    )


def _best_served(catalog: Catalog, wanted: str, gpu_models: Collection[str]) -> str | None:
    """The GPU-served model closest below the wanted tier (else the smallest above it)."""
    rank = {tier: i for i, tier in enumerate(TIERS)}
    want = rank[catalog.get(wanted).tier]
    served = [m for m in catalog if m.id in gpu_models]
    below = [m for m in served if rank[m.tier] <= want]
    if below:
        return max(below, key=lambda m: rank[m.tier]).id
    above = sorted(served, key=lambda m: rank[m.tier])
    return above[0].id if above else None
