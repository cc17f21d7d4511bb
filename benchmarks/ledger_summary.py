"""Ledger usage-summary speed on a month of requests, against a window-function baseline.

    .venv/bin/python benchmarks/ledger_summary.py [--rows 1000000]

The gateway answers the cost tracker's monthly read with `Ledger.summary_rows`; its exact p95 is
the expensive part. The baseline is the straightforward window-function p95 over every row, run on
the same database in the same process, so the ratio is meaningful on a shared machine.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "functions"))

from gateway.ledger import Ledger, to_ms

WINDOW_P95 = """
WITH ranked AS (
    SELECT model, backend, latency_ms,
           ROW_NUMBER() OVER (PARTITION BY model, backend ORDER BY latency_ms) AS rn,
           COUNT(*)     OVER (PARTITION BY model, backend)                    AS n
    FROM usage WHERE ts_ms >= ? AND ts_ms < ?
)
SELECT model, backend, MIN(latency_ms) FROM ranked WHERE rn >= (n * 95 + 99) / 100 GROUP BY model, backend
"""
MODELS = ("llama3.1-8b-instruct", "llama3.1-70b-instruct-fp8", "llama-4-maverick-17b-128e-instruct-fp8")


def fill(ledger: Ledger, rows: int, start: datetime) -> None:
    rng = random.Random(1)
    base, step = to_ms(start), (30 * 86_400_000) // rows
    conn = ledger._conn()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO usage VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (
        (f"r{i}", base + i * step, MODELS[i % 3], "gpu" if i % 5 == 0 else "serverless", 100, 50, 12_345,
         rng.uniform(50, 900), "ok", 0, f"u{i % 200}", None, "low" if i % 4 == 0 else "medium")
        for i in range(rows)))
    conn.execute("COMMIT")


def timed(fn, runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    start = datetime(2026, 11, 1, tzinfo=UTC)
    end = start + timedelta(days=30)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / "usage.db")
        fill(ledger, args.rows, start)
        conn, bounds = ledger._conn(), (to_ms(start), to_ms(end))
        ours = {(r["model"], r["backend"]): r["p95_latency_ms"] for r in ledger.summary_rows(start, end)}
        theirs = {(m, b): round(v, 3) for m, b, v in conn.execute(WINDOW_P95, bounds)}
        assert ours == theirs, "p95 differs from the window-function baseline"
        summary = timed(lambda: ledger.summary_rows(start, end), args.runs)
        baseline = timed(lambda: conn.execute(WINDOW_P95, bounds).fetchall(), args.runs)
        ledger.close()
    print(f"rows: {args.rows:,}  (median of {args.runs})")
    print(f"summary_rows (aggregates + p95):  {summary * 1000:8.0f} ms")
    print(f"baseline window-function p95 only: {baseline * 1000:8.0f} ms")
    print(f"ratio summary_rows / baseline p95: {summary / baseline:.2f}")


if __name__ == "__main__":
    main()
