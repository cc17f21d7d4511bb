"""One-time cost of adding the export cursor to a ledger written before it (docs/adr/0008).

Builds a pre-cursor ledger of N rows, then times `Ledger(path)` (the rebuild) against a baseline
in the same process: copying the same rows into an index-free table. Usage:
    python benchmarks/ledger_cursor_migration.py [rows]   (default 200000)
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "functions")]

from gateway.ledger import Ledger  # noqa: E402

OLD_SCHEMA = """
CREATE TABLE usage (request_id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, model TEXT NOT NULL,
    backend TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
    cost_pico INTEGER NOT NULL, latency_ms REAL NOT NULL, status TEXT NOT NULL,
    estimated INTEGER NOT NULL DEFAULT 0, user_id TEXT, session_id TEXT, complexity TEXT);
CREATE INDEX usage_by_time ON usage (ts_ms, model, backend);
"""


def old_ledger(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.executemany("INSERT INTO usage VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", (
        (f"gw-0a1b2c3d4e-{i}", 1_767_225_600_000 + i * 37, "llama3.1-8b-instruct", "serverless", 100, 50,
         10_500_000, 123.4, "ok", 0, f"user-{i % 50}", None, "low") for i in range(rows)))
    conn.commit()
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=200_000, help="rows in the old ledger")
    rows = parser.parse_args().rows
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.db"
        old_ledger(path, rows)
        conn = sqlite3.connect(path)
        started = time.perf_counter()
        conn.execute("CREATE TABLE copy AS SELECT * FROM usage")
        conn.commit()
        baseline = time.perf_counter() - started
        conn.execute("DROP TABLE copy")
        conn.commit()
        conn.close()
        started = time.perf_counter()
        Ledger(path).close()
        migration = time.perf_counter() - started
    print(f"rows: {rows}")
    print(f"baseline (index-free copy): {baseline:.2f} s")
    print(f"cursor rebuild:             {migration:.2f} s ({migration / baseline:.1f}x the copy, "
          f"{migration / rows * 1e6:.1f} s per million rows)")


if __name__ == "__main__":
    main()
