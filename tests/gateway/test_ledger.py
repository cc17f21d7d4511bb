"""The usage ledger: uniqueness, concurrency, exact sums, SQL aggregation (the generic tests run on
both stores, SQLite and Postgres, through the `store` fixture)."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest

from gateway.ledger import Ledger, UsageRecord, to_ms
from llm_shared.errors import ConfigError

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rec(i: int, **kw) -> UsageRecord:
    base = dict(request_id=f"r{i}", ts_ms=to_ms(NOW) + i, model="llama3.1-8b-instruct",
                backend="serverless", prompt_tokens=10, completion_tokens=5, cost_pico=1_050_000,
                latency_ms=float(i % 100), user_id=f"u{i % 7}", session_id="s")
    base.update(kw)
    return UsageRecord(**base)


@pytest.fixture
def ledger(tmp_path):
    led = Ledger(tmp_path / "usage.db")
    yield led
    led.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    from gateway.ledger_store import open_ledger

    led = open_ledger(request.getfixturevalue("pg_dsn") if request.param == "postgres"
                      else str(tmp_path / "usage.db"))
    yield led
    led.close()


def test_wal_mode_and_index(ledger):
    conn = sqlite3.connect(ledger.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plan = " ".join(str(r) for r in conn.execute(
        "EXPLAIN QUERY PLAN SELECT SUM(cost_pico) FROM usage WHERE ts_ms >= 0 AND ts_ms < 10"))
    assert "usage_by_time" in plan
    conn.close()


def test_duplicate_request_ids_are_counted_once(store):
    assert store.record_many([rec(1), rec(2)]) == 2
    assert store.record_many([rec(2), rec(3)]) == 1
    assert store.record(rec(3)) is False
    assert store.count() == 3


def test_a_batch_is_a_few_multi_row_statements_with_duplicates_and_rollback_as_before(ledger):
    """Hundreds of rows per INSERT: the writer thread steps SQLite (and hands the interpreter lock
    back to the request loop) once per statement, not once per row as executemany did."""
    from gateway.ledger import ROWS_PER_STATEMENT

    statements: list[str] = []
    conn = ledger._conn()
    conn.set_trace_callback(statements.append)
    rows = 2 * ROWS_PER_STATEMENT + 37
    assert ledger.record_many(rec(i) for i in range(rows)) == rows
    inserts = [s for s in statements if s.startswith("INSERT")]
    assert len(inserts) == 3, len(inserts)
    assert ledger.record_many(rec(i) for i in range(rows - 5, rows + 5)) == 5  # duplicates ignored
    assert ledger.count() == rows + 5
    conn.set_trace_callback(None)
    with pytest.raises(ConfigError):  # a bad record never reaches SQL
        ledger.record_many([rec(rows + 10), rec(rows + 11, cost_pico=-1)])
    conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON usage WHEN NEW.request_id = 'r9550' "
                 "BEGIN SELECT RAISE(ABORT, 'refused'); END")
    with pytest.raises(sqlite3.IntegrityError):  # one refused row rolls the whole batch back
        ledger.record_many(rec(i) for i in range(9000, 9000 + ROWS_PER_STATEMENT + 100))
    assert ledger.count() == rows + 5
    fields = [r[0] for r in conn.execute("SELECT request_id FROM usage WHERE request_id = 'r7'")]
    assert fields == ["r7"]


def test_concurrent_writers_lose_no_row(store):
    threads, per_thread = 8, 500

    def write(t: int) -> None:
        for start in range(0, per_thread, 50):
            store.record_many(rec(t * per_thread + i) for i in range(start, start + 50))

    workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert store.count() == threads * per_thread
    assert store.spend_pico(NOW, NOW + timedelta(hours=1)) == threads * per_thread * 1_050_000


def test_spend_uses_half_open_bounds(store):
    store.record_many([rec(0), rec(1, ts_ms=to_ms(NOW + timedelta(days=1)))])
    assert store.spend_pico(NOW, NOW + timedelta(days=1)) == 1_050_000
    assert store.spend_pico(NOW - timedelta(days=1), NOW) == 0


def test_summary_groups_by_model_and_backend_in_sql(store):
    rows = [rec(i) for i in range(100)]
    rows += [rec(1000 + i, model="llama3.1-70b-instruct-fp8", backend="gpu", cost_pico=5_250_000,
                 latency_ms=float(200 + i), status="error" if i < 3 else "ok",
                 estimated=i < 5, complexity="low" if i < 4 else "high") for i in range(20)]
    store.record_many(rows)
    summary = {(r["model"], r["backend"]): r for r in store.summary_rows(NOW, NOW + timedelta(hours=1))}
    small = summary[("llama3.1-8b-instruct", "serverless")]
    assert small["requests"] == 100 and small["errors"] == 0
    assert small["prompt_tokens"] == 1000 and small["completion_tokens"] == 500
    assert small["cost_pico"] == 105_000_000
    assert small["unique_users"] == 7
    assert small["avg_latency_ms"] == pytest.approx(49.5)
    assert small["p95_latency_ms"] == 94.0  # nearest rank: 95th of 0..99
    gpu = summary[("llama3.1-70b-instruct-fp8", "gpu")]
    assert gpu["errors"] == 3 and gpu["estimated_requests"] == 5
    assert gpu["p95_latency_ms"] == 218.0  # 19th of 200..219
    assert gpu["low_complexity_requests"] == 4
    assert gpu["low_complexity_prompt_tokens"] == 40 and gpu["low_complexity_completion_tokens"] == 20
    assert store.unique_users(NOW, NOW + timedelta(hours=1)) == 7


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"prompt_tokens": -1}, "prompt_tokens must be an integer >= 0"),
     ({"cost_pico": 1.5}, "cost_pico must be an integer"),
     ({"backend": "tpu"}, "backend 'tpu'"),
     ({"status": "weird"}, "status 'weird'"),
     ({"request_id": ""}, "request_id is required"),
     ({"latency_ms": float("nan")}, "latency_ms must be >= 0"),
     ({"complexity": "extreme"}, "complexity 'extreme'")],
)
def test_garbage_records_are_refused(kw, message):
    with pytest.raises(ConfigError, match=message):
        rec(1, **kw)


def test_database_constraints_back_up_the_validation(ledger):
    conn = sqlite3.connect(ledger.path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO usage (request_id, ts_ms, model, backend, prompt_tokens, completion_tokens,"
                     " cost_pico, latency_ms, status) VALUES ('x', 0, 'm', 'serverless', -1, 0, 0, 0, 'ok')")
    conn.close()


def test_naive_datetimes_are_refused():
    with pytest.raises(ConfigError, match="timezone-aware"):
        to_ms(datetime(2026, 1, 1))


@pytest.mark.parametrize("n", [1, 2, 3, 19, 20, 21, 57])
def test_p95_is_the_nearest_rank_for_any_group_size(store, n):
    import math
    import random

    latencies = [round(random.Random(n).uniform(1, 900), 3) for _ in range(n)]
    store.record_many(rec(i, latency_ms=latency) for i, latency in enumerate(latencies))
    (row,) = store.summary_rows(NOW, NOW + timedelta(hours=1))
    assert row["p95_latency_ms"] == sorted(latencies)[math.ceil(0.95 * n) - 1]
