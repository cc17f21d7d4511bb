"""The gateway's Prometheus metrics (GET /metrics), in their own registry (several apps per process).

Not the tracker's CloudWatch metrics: those are `cost_tracker.cloudwatch_push` and
`llm_shared.cloudwatch_contract`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from gateway.ledger import UsageRecord
from gateway.ledger_writer import LedgerWriter
from llm_shared.money import pico_to_float

from .asgi import Handler, HttpRequest, respond

if TYPE_CHECKING:
    from .app import GatewayApp

CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


_BUCKETS_MS = tuple(bound * 1000 for bound in LATENCY_BUCKETS)
_BUCKET_LABELS = (*(floatToGoString(bound) for bound in LATENCY_BUCKETS), "+Inf")


class FinishedRequests(Collector):
    """Requests, tokens, cost (exact picodollars until scraped) and latency of finished requests.

    Exposed as gateway_requests_total{backend,model,status}, gateway_tokens_total{backend,model,kind},
    gateway_cost_usd_total{backend,model}, the histogram gateway_request_latency_seconds{backend},
    and per client key gateway_key_requests_total{key} and gateway_key_cost_usd_total{key} (one
    series per configured key name: the label's values are bounded by the configuration).
    Updated from the event loop only; a scrape reads plain ints (a torn read is one request off).
    """

    def __init__(self, key_names: Iterable[str] = ()) -> None:
        # (backend, model, status) -> [requests, prompt tokens, completion tokens, cost pico]
        self._counts: dict[tuple[str, str, str], list[int]] = {}
        # key name -> [requests, cost pico]; every configured key from the start (a 0 is a value)
        self._keys: dict[str | None, list[int]] = {name: [0, 0] for name in key_names}
        # backend -> [observations per bucket (not cumulative) ..., +Inf bucket, sum of ms]
        self._latency: dict[str, list[float]] = {}

    def observe(self, record: UsageRecord) -> None:
        key = (record.backend, record.model, record.status)
        counts = self._counts.get(key)
        if counts is None:
            counts = self._counts[key] = [0, 0, 0, 0]
        counts[0] += 1
        counts[1] += record.prompt_tokens
        counts[2] += record.completion_tokens
        counts[3] += record.cost_pico
        latency = self._latency.get(record.backend)
        if latency is None:
            latency = self._latency[record.backend] = [0.0] * (len(_BUCKETS_MS) + 2)
        latency[bisect_left(_BUCKETS_MS, record.latency_ms)] += 1
        latency[-1] += record.latency_ms
        spent = self._keys.get(record.key_name)
        if spent is None:  # only a key name the configuration has not listed (never from a client)
            spent = self._keys[record.key_name] = [0, 0]
        spent[0] += 1
        spent[1] += record.cost_pico

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily("gateway_requests", "Finished chat requests",
                                       labels=["backend", "model", "status"])
        tokens = CounterMetricFamily("gateway_tokens", "Tokens billed", labels=["backend", "model", "kind"])
        cost = CounterMetricFamily("gateway_cost_usd", "Cost of finished requests in USD",
                                   labels=["backend", "model"])
        per_model: dict[tuple[str, str], list[int]] = {}
        for (backend, model, status), (count, prompt, completion, pico) in list(self._counts.items()):
            requests.add_metric([backend, model, status], count)
            totals = per_model.setdefault((backend, model), [0, 0, 0])
            totals[0] += prompt
            totals[1] += completion
            totals[2] += pico
        for (backend, model), (prompt, completion, pico) in per_model.items():
            tokens.add_metric([backend, model, "prompt"], prompt)
            tokens.add_metric([backend, model, "completion"], completion)
            cost.add_metric([backend, model], pico_to_float(pico))
        latency = HistogramMetricFamily("gateway_request_latency_seconds", "Time from request to last byte",
                                        labels=["backend"])
        for backend, observed in list(self._latency.items()):
            cumulative, buckets = 0.0, []
            for bound, in_bucket in zip(_BUCKET_LABELS, observed[:-1], strict=True):
                cumulative += in_bucket
                buckets.append((bound, cumulative))
            latency.add_metric([backend], buckets, observed[-1] / 1000)
        key_requests = CounterMetricFamily("gateway_key_requests", "Finished chat requests per client key",
                                           labels=["key"])
        key_cost = CounterMetricFamily("gateway_key_cost_usd", "Cost of finished requests per client key "
                                       "in USD (catalog prices, both backends: what key budgets count)",
                                       labels=["key"])
        for name, (count, pico) in list(self._keys.items()):
            if name is not None:
                key_requests.add_metric([name], count)
                key_cost.add_metric([name], pico_to_float(pico))
        yield from (requests, tokens, cost, latency, key_requests, key_cost)


class PostgresRoundTrips(Collector):
    """gateway_postgres_round_trips_total{purpose}: requests sent to Postgres, read at scrape time from
    their owners (`sources`: purpose -> a function returning the count, e.g. "ledger" -> the store's
    round_trips; the budget leases add "lease")."""

    def __init__(self) -> None:
        self.sources: dict[str, Callable[[], int]] = {}

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily("gateway_postgres_round_trips", "Requests sent to PostgreSQL "
                                     "(statements and connection set-ups)", labels=["purpose"])
        for purpose, count in sorted(self.sources.items()):
            family.add_metric([purpose], count())
        yield family


class GatewayMetrics:
    """Counters per backend/model/status, tokens, cost, latency; gauges for budget use and the
    writer's queue; the process collector (CPU, memory, file descriptors)."""

    def __init__(self, key_names: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # Per-request figures are plain-int tallies turned into metric families at scrape time:
        # five prometheus_client updates (a lock each, a bucket walk) cost ~5 µs per request.
        self.finished = FinishedRequests(key_names)
        r.register(self.finished)
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
                                          "Records the store refused, kept in the dead-letter file",
                                          registry=r)
        self._ledger_dead_letter_seen = 0
        self.ledger_store_up = Gauge("gateway_ledger_store_up", "1 if the last ledger write reached the "
                                     "store, 0 while it is unavailable (rows queue in memory)", registry=r)
        self.postgres_round_trips = PostgresRoundTrips()
        r.register(self.postgres_round_trips)
        self.ledger_lag = Gauge("gateway_ledger_lag_seconds",
                                "Age of the oldest record not yet committed (what a hard kill would lose)",
                                registry=r)
        ProcessCollector(registry=r)  # process_cpu_seconds_total, resident memory, open fds, start time

    def observe(self, record: UsageRecord) -> None:
        self.finished.observe(record)

    def render(self, budget_used: dict[str, float], ledger: LedgerWriter) -> bytes:
        for period, ratio in budget_used.items():
            self.budget_used.labels(period).set(ratio)
        self.ledger_pending.set(ledger.pending)
        dead = ledger.dead_letter_records
        self.ledger_dead_letter.inc(dead - self._ledger_dead_letter_seen)
        self._ledger_dead_letter_seen = dead
        self.ledger_lag.set(ledger.lag_s)
        self.ledger_store_up.set(1 if ledger.store_up else 0)
        return generate_latest(self.registry)


def endpoint(app: GatewayApp) -> Handler:
    async def handle(request: HttpRequest) -> None:
        app.auth.require_admin(request.headers.get(b"authorization"))  # spend and budget use: ADR 0007
        body = app.metrics.render(app.guard.used_ratio(), app.writer)
        await respond(request.send, 200, body, CONTENT_TYPE)

    return handle
