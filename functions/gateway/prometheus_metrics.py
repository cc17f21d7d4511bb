"""The gateway's Prometheus metrics (GET /metrics), in their own registry (several apps per process).

Not the tracker's CloudWatch metrics: those are `cost_tracker.cloudwatch_push` and
`llm_shared.cloudwatch_contract`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.ledger import UsageRecord
from gateway.ledger_writer import LedgerWriter
from llm_shared.money import pico_to_float

from .asgi import Handler, HttpRequest, respond

if TYPE_CHECKING:
    from .app import GatewayApp

CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class GatewayMetrics:
    """Counters per backend/model/status, tokens, cost, latency; gauges for budget use and the
    writer's queue; the process collector (CPU, memory, file descriptors)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("gateway_requests", "Finished chat requests",
                                ["backend", "model", "status"], registry=r)
        self.tokens = Counter("gateway_tokens", "Tokens billed", ["backend", "model", "kind"], registry=r)
        self.cost = Counter("gateway_cost_usd", "Cost of finished requests in USD", ["backend", "model"],
                            registry=r)
        self.latency = Histogram("gateway_request_latency_seconds", "Time from request to last byte",
                                 ["backend"], buckets=LATENCY_BUCKETS, registry=r)
        self.fallbacks = Counter("gateway_fallbacks", "Requests retried on the other backend",
                                 ["from_backend", "reason"], registry=r)
        self.refusals = Counter("gateway_budget_refusals", "Requests refused with budget_exceeded",
                                registry=r)
        self.downgrades = Counter("gateway_budget_downgrades", "auto requests sent to the cheapest model",
                                  registry=r)
        self.usage_clamped = Counter("gateway_usage_clamped", "Answers whose reported usage was over the "
                                     "request's bounds (recorded at the bound, flagged)", ["backend"],
                                     registry=r)
        self.rejected = Counter("gateway_rejected_requests", "Requests refused before routing",
                                ["status"], registry=r)
        self.budget_used = Gauge("gateway_budget_used_ratio", "Spend over budget per period", ["period"],
                                 registry=r)
        self.ledger_pending = Gauge("gateway_ledger_pending_records", "Records not yet written", registry=r)
        # Counts that only grow are Counters (rate()/increase() work); the writer keeps the numbers.
        self.ledger_dead_letter = Counter("gateway_ledger_dead_letter_records",
                                          "Records the store refused, kept in the dead-letter file", registry=r)
        self._ledger_dead_letter_seen = 0
        self.ledger_lag = Gauge("gateway_ledger_lag_seconds",
                                "Age of the oldest record not yet committed (what a hard kill would lose)",
                                registry=r)
        ProcessCollector(registry=r)  # process_cpu_seconds_total, resident memory, open fds, start time
        self._children: dict[tuple[str, str, str], tuple] = {}

    def observe(self, record: UsageRecord) -> None:
        key = (record.backend, record.model, record.status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(*key),
                self.tokens.labels(record.backend, record.model, "prompt"),
                self.tokens.labels(record.backend, record.model, "completion"),
                self.cost.labels(record.backend, record.model),
                self.latency.labels(record.backend),
            )
            self._children[key] = children
        requests, prompt, completion, cost, latency = children
        requests.inc()
        if record.prompt_tokens:
            prompt.inc(record.prompt_tokens)
        if record.completion_tokens:
            completion.inc(record.completion_tokens)
        if record.cost_pico:
            cost.inc(pico_to_float(record.cost_pico))
        latency.observe(record.latency_ms / 1000)

    def render(self, budget_used: dict[str, float], ledger: LedgerWriter) -> bytes:
        for period, ratio in budget_used.items():
            self.budget_used.labels(period).set(ratio)
        self.ledger_pending.set(ledger.pending)
        dead = ledger.dead_letter_records
        self.ledger_dead_letter.inc(dead - self._ledger_dead_letter_seen)
        self._ledger_dead_letter_seen = dead
        self.ledger_lag.set(ledger.lag_s)
        return generate_latest(self.registry)


def endpoint(app: GatewayApp) -> Handler:
    async def handle(request: HttpRequest) -> None:
        app.auth.require_admin(request.headers.get(b"authorization"))  # spend and budget use: ADR 0007
        body = app.metrics.render(app.guard.used_ratio(), app.writer)
        await respond(request.send, 200, body, CONTENT_TYPE)

    return handle
