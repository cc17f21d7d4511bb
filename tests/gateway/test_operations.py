"""Health, readiness, Prometheus metrics, and the ledger's flush-on-stop guarantee."""

from __future__ import annotations

import json
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from gateway.ledger import Ledger, UsageRecord
from gateway.ledger_writer import LedgerWriter
from llm_shared.pricing import cost_for
from standins import Script, prompt_tokens
from standins.serving import bind_loopback

from .conftest import HELLO, SMALL, running_gateway


def _samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def test_metrics_count_requests_tokens_cost_latency_and_budget(gw, backends):
    for _ in range(3):
        gw.chat({"model": SMALL, "messages": HELLO})
    backends.serverless.script = Script(fail_status=503, fail_count=1)
    gw.chat({"model": SMALL, "messages": HELLO})  # falls back to the GPU
    gw.chat({"model": "nope", "messages": HELLO})  # rejected before routing
    response = gw.metrics()
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = _samples(response.text)
    serverless = (("backend", "serverless"), ("model", SMALL), ("status", "ok"))
    assert samples[("gateway_requests_total", serverless)] == 3
    assert samples[("gateway_requests_total", (("backend", "gpu"), ("model", SMALL), ("status", "ok")))] == 1
    prompt = prompt_tokens(HELLO)
    assert samples[("gateway_tokens_total", (("backend", "serverless"), ("kind", "prompt"),
                                             ("model", SMALL)))] == 3 * prompt
    expected_usd = 4 * cost_for(SMALL, prompt, 8) / 10**12
    cost = sum(v for (name, _), v in samples.items() if name == "gateway_cost_usd_total")
    assert abs(cost - expected_usd) < 1e-15
    assert samples[("gateway_request_latency_seconds_count", (("backend", "serverless"),))] == 3
    assert samples[("gateway_fallbacks_total", (("from_backend", "serverless"), ("reason", "status")))] == 1
    assert samples[("gateway_rejected_requests_total", (("status", "404"),))] == 1
    day_ratio = samples[("gateway_budget_used_ratio", (("period", "day"),))]
    assert abs(day_ratio - expected_usd / 100) < 1e-15


def test_healthz_and_readyz(backends, tmp_path):
    backends.reset()
    closed = bind_loopback(0)
    dead = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    closed.close()
    with running_gateway(backends, tmp_path) as gw:
        assert requests.get(f"{gw.url}/healthz", timeout=10).json() == {"status": "ok"}
        before = backends.serverless.app.models_requests
        ready = requests.get(f"{gw.url}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["backends"] == {"serverless": True, "gpu": True}
        for _ in range(5):
            assert requests.get(f"{gw.url}/readyz", timeout=10).status_code == 200
        assert backends.serverless.app.models_requests == before + 1  # probes are cached
    with running_gateway(backends, tmp_path / "one", GPU_BASE_URL=dead) as gw:
        ready = requests.get(f"{gw.url}/readyz", timeout=10)
        assert ready.status_code == 200 and ready.json()["backends"] == {"serverless": True, "gpu": False}
    with running_gateway(backends, tmp_path / "none", GPU_BASE_URL=dead, SERVERLESS_BASE_URL=dead) as gw:
        ready = requests.get(f"{gw.url}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
        assert requests.get(f"{gw.url}/healthz", timeout=10).status_code == 200  # alive, just not ready


def test_graceful_stop_writes_every_queued_record(backends, tmp_path):
    backends.reset()
    with running_gateway(backends, tmp_path, ledger_interval_s=60) as gw:  # the writer would wait a minute
        for _ in range(5):
            assert gw.chat({"model": SMALL, "messages": HELLO}).status_code == 200
        assert gw.app.writer.pending == 5  # nothing written yet: writes are off the request path
    ledger = Ledger(gw.ledger_path)
    try:
        assert ledger.count() == 5
    finally:
        ledger.close()


def test_restart_seeds_the_budget_guard_from_the_ledger(backends, tmp_path):
    backends.reset()
    with running_gateway(backends, tmp_path, DAILY_BUDGET_USD="0.000001") as gw:
        assert gw.chat({"model": SMALL, "messages": HELLO, "max_tokens": 8}).status_code == 200
        assert gw.chat({"model": SMALL, "messages": HELLO, "max_tokens": 8}).status_code == 429
    with running_gateway(backends, tmp_path, DAILY_BUDGET_USD="0.000001") as gw:
        assert gw.chat({"model": SMALL, "messages": HELLO, "max_tokens": 8}).status_code == 429


def _record(i: int) -> UsageRecord:
    return UsageRecord(request_id=f"r{i}", ts_ms=1_700_000_000_000 + i, model=SMALL, backend="gpu",
                       prompt_tokens=1, completion_tokens=1, cost_pico=5, latency_ms=1.0)


def test_writer_batches_on_its_interval_and_flush_waits_for_it(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    writer = LedgerWriter(ledger, interval_s=0.2)
    writer.start()
    try:
        for i in range(100):
            writer.submit(_record(i))
        assert ledger.count() == 0  # queued, not yet written: the crash-loss window
        started = time.monotonic()
        assert writer.flush(timeout=5)
        assert time.monotonic() - started < 0.2  # flush wakes the writer instead of waiting
        assert ledger.count() == 100
        writer.submit(_record(100))
        deadline = time.monotonic() + 2
        while ledger.count() < 101 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ledger.count() == 101  # written by the interval alone
    finally:
        writer.stop()
        ledger.close()


def _refuse_cost(ledger: Ledger, cost: int) -> None:
    ledger._conn().execute(f"CREATE TRIGGER refuse_{cost} BEFORE INSERT ON usage WHEN NEW.cost_pico = {cost} "
                           "BEGIN SELECT RAISE(ABORT, 'refused'); END")


def test_writer_retries_a_failed_batch_until_the_ledger_accepts_it(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _refuse_cost(ledger, 5)  # every record of the batch is refused for now
    writer = LedgerWriter(ledger, interval_s=0.05)
    writer.start()
    try:
        for i in range(3):
            writer.submit(_record(i))
        deadline = time.monotonic() + 2
        while writer.failed_writes == 0 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert writer.failed_writes >= 1 and ledger.count() == 0
        ledger._conn().execute("DROP TRIGGER refuse_5")  # the disk has room again
        assert writer.flush(timeout=5)
        assert ledger.count() == 3 and writer.dead_letter_records == 0
    finally:
        writer.stop()
        ledger.close()


def test_writer_keeps_a_record_the_store_refuses_in_the_dead_letter_file(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    _refuse_cost(ledger, 13)
    writer = LedgerWriter(ledger, interval_s=0.02)
    writer.start()
    try:
        writer.submit(_record(1))
        writer.submit(UsageRecord(request_id="poison", ts_ms=1, model=SMALL, backend="gpu", prompt_tokens=1,
                                  completion_tokens=2, cost_pico=13, latency_ms=1.5, user_id="u"))
        writer.submit(_record(2))
        assert writer.flush(timeout=5)
        assert writer.dead_letter_records == 1
        assert ledger.count() == 2
        lines = writer.dead_letter_path.read_text().splitlines()
        assert writer.dead_letter_path == tmp_path / "l.sqlite3.dead-letter.jsonl"
        assert len(lines) == 1
        kept = json.loads(lines[0])
        assert kept["error"].startswith("IntegrityError") and "refused" in kept["error"]
        # Every field survives, so the row can be replayed once the cause is fixed.
        assert UsageRecord(**{**{k: v for k, v in kept.items() if k != "error"},
                              "estimated": bool(kept["estimated"])}).cost_pico == 13
    finally:
        writer.stop()
        ledger.close()


def test_writer_lag_is_the_age_of_the_oldest_unwritten_record(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    writer = LedgerWriter(ledger, interval_s=60)
    writer.start()
    try:
        assert writer.lag_s == 0.0
        writer.submit(_record(1))
        time.sleep(0.05)
        writer.submit(_record(2))
        assert 0.05 <= writer.lag_s < 5
        assert writer.flush(timeout=5)
        assert writer.lag_s == 0.0 and writer.pending == 0
    finally:
        writer.stop()
        ledger.close()


def test_a_full_queue_wakes_the_writer_before_its_interval(tmp_path):
    ledger = Ledger(tmp_path / "l.sqlite3")
    writer = LedgerWriter(ledger, interval_s=60, wake_at_pending=50)
    writer.start()
    try:
        for i in range(50):
            writer.submit(_record(i))
        deadline = time.monotonic() + 5
        while ledger.count() < 50 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ledger.count() == 50  # written long before the 60 s interval
    finally:
        writer.stop()
        ledger.close()


def test_ledger_rows_follow_the_record_fields_in_order():
    from dataclasses import fields

    record = UsageRecord(request_id="r", ts_ms=1, model=SMALL, backend="gpu", prompt_tokens=2,
                         completion_tokens=3, cost_pico=4, latency_ms=5.0, status="partial", estimated=True,
                         user_id="u", session_id="s", complexity="high")
    expected = tuple(int(getattr(record, f)) if f == "estimated" else getattr(record, f)
                     for f in (field.name for field in fields(UsageRecord)))
    assert record.as_row() == expected


def test_an_unusable_ledger_path_stops_the_start_naming_the_variable(backends, tmp_path, caplog):
    import pytest

    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the ledger's directory should be")
    with pytest.raises(RuntimeError), running_gateway(backends, tmp_path,
                                                       LEDGER_URL=str(blocker / "ledger.db")):
        pass
    assert "LEDGER_URL: cannot open the ledger" in caplog.text


def test_cumulative_counts_are_counters_and_the_process_is_described():
    from types import SimpleNamespace

    from gateway.prometheus_metrics import GatewayMetrics

    metrics = GatewayMetrics()
    metrics.render({"day": 0.0, "month": 0.0},
                   SimpleNamespace(pending=4, dead_letter_records=2, lag_s=0.2, store_up=True))
    text = metrics.render({"day": 0.5, "month": 0.1},
                          SimpleNamespace(pending=1, dead_letter_records=3, lag_s=0.05,
                                          store_up=True)).decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    dead = families["gateway_ledger_dead_letter_records"]
    assert dead.type == "counter"  # a count that only grows: rate() and increase() must work on it
    assert [s.value for s in dead.samples if s.name.endswith("_total")] == [3]
    assert families["gateway_ledger_pending_records"].type == "gauge"
    assert _samples(text)[("gateway_ledger_pending_records", ())] == 1
    assert _samples(text)[("gateway_ledger_lag_seconds", ())] == 0.05
    gauges = {name for name, f in families.items()
              if f.type == "gauge" and name.startswith("gateway_") and not name.endswith("_created")}
    assert gauges == {"gateway_budget_used_ratio", "gateway_ledger_pending_records",
                      "gateway_ledger_lag_seconds", "gateway_ledger_store_up"}
    assert families["process_cpu_seconds"].type == "counter"
    assert _samples(text)[("process_resident_memory_bytes", ())] > 0


def test_request_tallies_expose_what_prometheus_counters_and_histograms_would():
    """The per-request figures are plain tallies turned into metric families at scrape time; the
    exposition equals that of the prometheus_client Counter/Histogram updates they replace."""
    import random

    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

    from gateway.prometheus_metrics import LATENCY_BUCKETS, GatewayMetrics
    from llm_shared.money import pico_to_float

    reference = CollectorRegistry()
    requests_ = Counter("gateway_requests", "r", ["backend", "model", "status"], registry=reference)
    tokens = Counter("gateway_tokens", "t", ["backend", "model", "kind"], registry=reference)
    cost = Counter("gateway_cost_usd", "c", ["backend", "model"], registry=reference)
    latency = Histogram("gateway_request_latency_seconds", "l", ["backend"], buckets=LATENCY_BUCKETS,
                        registry=reference)
    metrics = GatewayMetrics()
    rng = random.Random(7)
    for i in range(600):
        backend, model = rng.choice(("gpu", "serverless")), rng.choice((SMALL, "llama3.1-70b-instruct-fp8"))
        record = UsageRecord(request_id=f"r{i}", ts_ms=1, model=model, backend=backend,
                             prompt_tokens=rng.randint(0, 900), completion_tokens=rng.randint(0, 90),
                             cost_pico=rng.randint(0, 10**9), status=rng.choice(("ok", "error", "partial")),
                             latency_ms=rng.choice((rng.uniform(0, 200_000), 5.0, 10.0, 1000.0)))
        metrics.observe(record)
        requests_.labels(backend, model, record.status).inc()
        tokens.labels(backend, model, "prompt").inc(record.prompt_tokens)
        tokens.labels(backend, model, "completion").inc(record.completion_tokens)
        cost.labels(backend, model).inc(pico_to_float(record.cost_pico))
        latency.labels(backend).observe(record.latency_ms / 1000)
    ours = {k: v for k, v in _samples(generate_latest(metrics.registry).decode()).items()
            if k[0].startswith(("gateway_requests", "gateway_tokens", "gateway_cost", "gateway_request_lat"))}
    theirs = {k: v for k, v in _samples(generate_latest(reference).decode()).items()
              if not k[0].endswith("_created")}
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        assert abs(ours[key] - value) <= 1e-9 * max(abs(value), 1), key
