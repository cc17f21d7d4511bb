"""The Postgres ledger store against the SQLite one: same rows, same results; duplicates, commit order."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from gateway.ledger import Ledger, UsageRecord, to_ms
from gateway.ledger_postgres import _COLUMNS, _INSERT, PostgresLedger
from gateway.ledger_store import LedgerStore, open_ledger
from gateway.pg_migrations import MIGRATIONS
from llm_shared.errors import ConfigError
from tests.pg import free_port, one

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
MODELS = ("llama3.1-8b-instruct", "llama3.1-70b-instruct-fp8")


def rec(i: int, **kw) -> UsageRecord:
    base = dict(request_id=f"r{i}", ts_ms=to_ms(NOW) + i * 997, model=MODELS[i % 2],
                backend=("serverless", "gpu")[i % 3 == 0], prompt_tokens=10 + i, completion_tokens=5 + i % 11,
                cost_pico=1_050_000_000_000_000 + i,  # sums past 2**63 / 1e6 would lose digits as floats
                latency_ms=float(i % 100) + 0.125, status=("ok", "error", "partial")[i % 7 % 3],
                estimated=i % 5 == 0, user_id=f"u{i % 7}" if i % 4 else None, session_id="s",
                complexity=(None, "low", "medium", "high")[i % 4], cost_priority=("cost", None)[i % 2],
                key_name=(None, "team-a", "team-b")[i % 3])
    base.update(kw)
    return UsageRecord(**base)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path) -> LedgerStore:
    url = request.getfixturevalue("pg_dsn") if request.param == "postgres" else str(tmp_path / "l.db")
    led = open_ledger(url)
    assert led.kind == request.param
    yield led
    led.close()


def test_both_stores_give_the_same_summary_records_and_spend(tmp_path, pg_dsn):
    rows = [rec(i) for i in range(300)]
    sqlite, postgres = Ledger(tmp_path / "l.db"), PostgresLedger(pg_dsn)
    try:
        for led in (sqlite, postgres):
            assert led.record_many(rows[:120]) == 120
            assert led.record_many(rows[100:]) == 180
        start, end = NOW - timedelta(hours=1), NOW + timedelta(days=1)
        assert postgres.summary_rows(start, end) == sqlite.summary_rows(start, end)
        assert postgres.key_rows(start, end) == sqlite.key_rows(start, end)
        total = sum(r.cost_pico for r in rows)
        assert postgres.spend_pico(start, end) == sqlite.spend_pico(start, end) == total
        assert isinstance(postgres.spend_pico(start, end), int)
        for key in ("team-a", "team-b", "nobody"):
            assert postgres.spend_pico(start, end, key) == sqlite.spend_pico(start, end, key) == sum(
                r.cost_pico for r in rows if r.key_name == key)
        assert postgres.unique_users(start, end) == sqlite.unique_users(start, end)
        assert postgres.count() == sqlite.count() == 300
        assert postgres.records_after(0, 1000) == sqlite.records_after(0, 1000)
        assert postgres.records_after(150, 20) == sqlite.records_after(150, 20)
        narrow = (NOW + timedelta(seconds=30), NOW + timedelta(seconds=90))
        assert postgres.summary_rows(*narrow) == sqlite.summary_rows(*narrow)
        assert postgres.spend_pico(*narrow) == sqlite.spend_pico(*narrow) > 0
        with postgres.snapshot():
            assert postgres.count() == 300
    finally:
        sqlite.close()
        postgres.close()


def test_an_empty_period_is_zero_in_both(store):
    assert store.spend_pico(NOW, NOW + timedelta(days=1)) == 0
    assert store.summary_rows(NOW, NOW + timedelta(days=1)) == []
    assert store.records_after(0, 10) == []


def test_duplicate_request_ids_are_ignored_within_and_across_batches(store):
    assert store.record_many([rec(1), rec(2), rec(2)]) == 2
    assert store.record_many([rec(2), rec(3)]) == 1
    assert store.record(rec(3)) is False
    assert store.count() == 3
    cursors = [r["cursor"] for r in store.records_after(0, 10)]
    assert [r["request_id"] for r in store.records_after(0, 10)] == ["r1", "r2", "r3"]
    assert cursors == [1, 2, 3]  # a duplicate takes no cursor number, in both stores


def test_a_postgres_batch_is_one_round_trip(pg_dsn):
    led = PostgresLedger(pg_dsn)
    try:
        before = led.round_trips
        assert led.record_many(rec(i) for i in range(2000)) == 2000
        assert led.round_trips - before == 1
    finally:
        led.close()


def test_the_cursor_is_commit_order_a_later_writer_waits_for_the_earlier_commit(pg_dsn):
    """Writer A has advanced the cursor but not committed; writer B must get a higher cursor and
    commit after A, so a reader that saw B's row has seen A's (ADR 0008)."""
    led = PostgresLedger(pg_dsn)
    try:
        with psycopg.connect(pg_dsn) as held:  # writer A, mid-transaction
            row = rec(1).as_row()
            held.execute(_INSERT.encode(), {name: [value] for name, value in zip(_COLUMNS, row, strict=True)})
            done = threading.Event()
            writer_b = threading.Thread(target=lambda: (led.record(rec(2)), done.set()))
            writer_b.start()
            assert not done.wait(0.5)  # B waits on the cursor row
            assert led.records_after(0, 10) == []
            held.commit()
        writer_b.join(10)
        assert done.is_set()
        assert [r["request_id"] for r in led.records_after(0, 10)] == ["r1", "r2"]
    finally:
        led.close()


def test_a_reader_paging_under_two_concurrent_writers_misses_no_row(pg_dsn):
    led = PostgresLedger(pg_dsn)
    stop = threading.Event()

    def write(prefix: str) -> None:
        i = 0
        while not stop.is_set():
            led.record_many(rec(j, request_id=f"{prefix}{j}") for j in range(i, i + 20))
            i += 20

    writers = [threading.Thread(target=write, args=(p,)) for p in ("a", "b")]
    seen: list[str] = []
    after = 0
    try:
        for w in writers:
            w.start()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            page = led.records_after(after, 50)
            if page:
                after = page[-1]["cursor"]
                seen += [r["request_id"] for r in page]
        stop.set()
        for w in writers:
            w.join(10)
        while page := led.records_after(after, 1000):
            after = page[-1]["cursor"]
            seen += [r["request_id"] for r in page]
        assert len(seen) == len(set(seen)) == led.count() > 100
    finally:
        stop.set()
        led.close()


def test_several_processes_starting_at_once_migrate_once(pg_dsn, tmp_path: Path):
    script = ("import sys; from gateway.ledger_postgres import PostgresLedger; "
              "PostgresLedger(sys.argv[1]).close(); print('ok')")
    env_path = str(Path(__file__).resolve().parents[2] / "functions")
    procs = [subprocess.Popen([sys.executable, "-c", script, pg_dsn], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={"PYTHONPATH": env_path, "PATH": "/usr/bin"})
             for _ in range(3)]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    with psycopg.connect(pg_dsn) as conn:
        versions = conn.execute("SELECT version, count(*) FROM schema_migrations GROUP BY version "
                                "ORDER BY version").fetchall()
        assert versions == [(version, 1) for version, _ in MIGRATIONS]
        assert one(conn, "SELECT count(*) FROM ledger_cursor") == 1


def test_an_unreachable_postgres_is_a_clear_error_without_the_password():
    dsn = f"postgresql://postgres:s3cret-pass-word@127.0.0.1:{free_port()}/ledger"
    with pytest.raises(ConfigError) as caught:
        PostgresLedger(dsn, connect_timeout_s=1)
    assert "cannot reach the Postgres ledger" in str(caught.value)
    assert "s3cret-pass-word" not in str(caught.value) and dsn not in str(caught.value)
