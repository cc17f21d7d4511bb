"""The writer with a Postgres store that goes down and comes back: rows queue in memory (bounded,
then the dead-letter file), are written when it returns; nothing lost."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import psycopg
import pytest

from gateway.ledger import UsageRecord, to_ms
from gateway.ledger_postgres import PostgresLedger
from gateway.ledger_writer import LedgerWriter
from tests.gateway.conftest import SMALL
from tests.pg import one

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def rec(i: int) -> UsageRecord:
    return UsageRecord(request_id=f"w{i}", ts_ms=to_ms(NOW) + i, model=SMALL, backend="serverless",
                       prompt_tokens=3, completion_tokens=4, cost_pico=1000 + i, latency_ms=1.0)


def wait_for(condition, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.parametrize("stop_mode", ["fast", "immediate"])  # a clean stop, and a crash of the server
def test_rows_written_while_postgres_is_down_arrive_when_it_returns(private_postgres, tmp_path, stop_mode):
    ledger = PostgresLedger(private_postgres.dsn, connect_timeout_s=1)
    writer = LedgerWriter(ledger, interval_s=0.05, dead_letter_path=tmp_path / "dead.jsonl")
    writer.start()
    stop = threading.Event()
    submitted = 0

    def traffic() -> None:
        nonlocal submitted
        while not stop.is_set():
            writer.submit(rec(submitted))
            submitted += 1
            time.sleep(0.002)

    thread = threading.Thread(target=traffic)
    thread.start()
    try:
        time.sleep(0.3)
        private_postgres.stop(stop_mode)
        assert wait_for(lambda: not writer.store_up)
        held = writer.pending
        time.sleep(0.5)
        assert writer.pending > held  # queued in memory, not dropped
        private_postgres.start()
        assert wait_for(lambda: writer.store_up and writer.pending < 50, timeout=30)
    finally:
        stop.set()
        thread.join(10)
        writer.stop()
    assert ledger.count() == submitted
    assert writer.dead_letter_records == 0 and not (tmp_path / "dead.jsonl").exists()
    ledger.close()


def test_beyond_the_queue_bound_rows_go_to_the_dead_letter_file_and_a_stop_keeps_the_rest(
        private_postgres, tmp_path):
    ledger = PostgresLedger(private_postgres.dsn, connect_timeout_s=1)
    dead = tmp_path / "dead.jsonl"
    writer = LedgerWriter(ledger, interval_s=0.05, dead_letter_path=dead, queue_limit=100)
    writer.start()
    private_postgres.stop()
    for i in range(250):
        writer.submit(rec(i))
    assert wait_for(lambda: writer.dead_letter_records >= 150)
    assert writer.pending <= 100
    writer.stop()  # the store is still down: the held rows go to the file too, none is lost
    lines = [json.loads(line) for line in dead.read_text().splitlines()]
    assert sorted(line["request_id"] for line in lines) == sorted(f"w{i}" for i in range(250))
    assert all(line["error"].startswith("LedgerUnavailable: ") for line in lines)
    private_postgres.start()
    with psycopg.connect(private_postgres.dsn) as conn:
        assert one(conn, "SELECT count(*) FROM usage") == 0  # they are in the file, not also in the store
    ledger.close()
