"""The ledger's commit-order cursor: what the export pages by (docs/adr/0008-usage-records-cursor.md)."""

from __future__ import annotations

import sqlite3

import pytest

from gateway.ledger import Ledger, UsageRecord
from gateway.ledger_store import open_ledger
from llm_shared.usage_records import FIELD_NAMES

SMALL = "llama3.1-8b-instruct"


def _record(request_id: str, ts_ms: int, **extra: object) -> UsageRecord:
    return UsageRecord(request_id=request_id, ts_ms=ts_ms, model=SMALL, backend="serverless", prompt_tokens=3,
                       completion_tokens=4, cost_pico=7, latency_ms=1.5, **extra)  # type: ignore[arg-type]


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path) -> str:
    """Both stores keep the same cursor contract."""
    return request.getfixturevalue("pg_dsn") if request.param == "postgres" else str(tmp_path / "l.db")


def test_a_row_that_finishes_late_gets_a_later_cursor_than_rows_already_read(store_url):
    ledger = open_ledger(store_url)
    ledger.record_many([_record("fast-1", 2_000), _record("fast-2", 3_000)])
    first = ledger.records_after(0, 10)
    assert [r["request_id"] for r in first] == ["fast-1", "fast-2"]
    # A stream that started before both (earlier ts) but finished after the page was read:
    ledger.record(_record("slow-stream", 1_000))
    late = ledger.records_after(first[-1]["cursor"], 10)
    assert [r["request_id"] for r in late] == ["slow-stream"]
    assert late[0]["ts_ms"] < first[0]["ts_ms"] and late[0]["cursor"] > first[-1]["cursor"]
    ledger.close()


def test_a_multi_row_insert_numbers_rows_in_order_and_a_duplicate_takes_no_cursor(store_url):
    ledger = open_ledger(store_url)
    ledger.record_many([_record(f"r{i}", i) for i in range(5)])
    ledger.record_many([_record("r2", 99), _record("r5", 5)])  # r2 is a retried write
    rows = ledger.records_after(0, 100)
    assert [r["request_id"] for r in rows] == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert [r["cursor"] for r in rows] == sorted({r["cursor"] for r in rows})
    assert ledger.records_after(rows[2]["cursor"], 2) == rows[3:5]
    ledger.close()


def test_records_carry_exactly_the_contract_fields_and_no_text(store_url):
    ledger = open_ledger(store_url)
    ledger.record(_record("r", 1, status="partial", estimated=True, user_id="u", session_id="s",
                          complexity="low", cost_priority="low_cost"))
    (row,) = ledger.records_after(0, 1)
    assert tuple(row) == FIELD_NAMES
    assert row["estimated"] is True and row["cost_priority"] == "low_cost" and row["status"] == "partial"
    ledger.close()


def test_vacuum_keeps_the_cursors(tmp_path):
    ledger = Ledger(tmp_path / "l.db")
    ledger.record_many([_record(f"r{i}", i) for i in range(4)])
    before = ledger.records_after(0, 10)
    ledger._conn().execute("DELETE FROM usage WHERE request_id IN ('r0', 'r2')")
    ledger._conn().execute("VACUUM")
    assert ledger.records_after(0, 10) == [before[1], before[3]]
    ledger.close()


def test_a_ledger_from_before_the_cursor_is_upgraded_in_insert_order_keeping_every_row(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE usage (request_id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, model TEXT NOT NULL,
            backend TEXT NOT NULL, prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,
            cost_pico INTEGER NOT NULL, latency_ms REAL NOT NULL, status TEXT NOT NULL,
            estimated INTEGER NOT NULL DEFAULT 0, user_id TEXT, session_id TEXT, complexity TEXT);
        CREATE INDEX usage_by_time ON usage (ts_ms, model, backend);
        INSERT INTO usage VALUES ('zeta', 5, 'm', 'gpu', 1, 2, 3, 4.0, 'ok', 0, 'u', NULL, 'low');
        INSERT INTO usage VALUES ('alpha', 1, 'm', 'serverless', 5, 6, 7, 8.0, 'error', 1, NULL, 's', NULL);
    """)
    conn.close()
    ledger = Ledger(path)
    rows = ledger.records_after(0, 10)
    assert [(r["cursor"], r["request_id"], r["cost_pico"]) for r in rows] == [(1, "zeta", 3), (2, "alpha", 7)]
    assert rows[1]["estimated"] is True and rows[1]["cost_priority"] is None
    ledger.record(_record("new", 0))
    assert ledger.records_after(2, 10)[0]["request_id"] == "new"
    assert not ledger.record(_record("alpha", 9))  # request ids stay unique
    ledger.close()
    assert Ledger(path).count() == 3  # a second open does not migrate again
