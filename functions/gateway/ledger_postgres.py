"""The shared PostgreSQL ledger: the SQLite ledger's rows and results for several gateways at once.

One write is one statement (one round trip, autocommit): it advances the single-row cursor
(`UPDATE ledger_cursor ... RETURNING`) and inserts the whole batch from arrays (`unnest ... WITH
ORDINALITY`), duplicates ignored (`ON CONFLICT DO NOTHING`). The cursor row's lock is held until
that statement commits, so a second writer waits and takes the next numbers only after the first
is visible: cursor order is commit order (docs/adr/0008-usage-records-cursor.md). Groups sort
as SQLite sorts them (bytewise, NULL first). Sums are BIGINT
columns summed to NUMERIC and returned as int, so costs stay exact. Connections come from a
psycopg_pool pool, which reconnects with backoff after the server comes back; while it cannot,
calls raise `LedgerUnavailable` and the writer queues (gateway/ledger_writer.py).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import psycopg
import psycopg_pool

from gateway.ledger import UsageRecord, to_ms
from gateway.ledger_store import LedgerUnavailable
from gateway.pg_migrations import migrate
from llm_shared.errors import ConfigError
from llm_shared.usage_records import FIELD_NAMES

CONNECT_TIMEOUT_S = 3  # a down server fails a write within this, not the pool's default 30 s
POOL_MAX = 4  # the writer, summary/records readers and the budget seed at start

_INSERT = """
WITH batch AS (
    SELECT * FROM unnest(%(request_id)s::text[], %(ts_ms)s::bigint[], %(model)s::text[],
                         %(backend)s::text[], %(prompt_tokens)s::bigint[], %(completion_tokens)s::bigint[],
                         %(cost_pico)s::bigint[], %(latency_ms)s::float8[], %(status)s::text[],
                         %(estimated)s::smallint[], %(user_id)s::text[], %(session_id)s::text[],
                         %(complexity)s::text[], %(cost_priority)s::text[], %(key_name)s::text[])
                  WITH ORDINALITY AS b(request_id, ts_ms, model, backend, prompt_tokens, completion_tokens,
                                       cost_pico, latency_ms, status, estimated, user_id, session_id,
                                       complexity, cost_priority, key_name, n)
), fresh AS (  -- a duplicate takes no cursor number, as in SQLite (first of a batch wins)
    SELECT DISTINCT ON (request_id) * FROM batch
    WHERE NOT EXISTS (SELECT 1 FROM usage WHERE usage.request_id = batch.request_id)
    ORDER BY request_id, n
), numbered AS (
    SELECT *, row_number() OVER (ORDER BY n) AS k FROM fresh
), cursor AS (
    UPDATE ledger_cursor SET last_seq = last_seq + (SELECT count(*) FROM numbered) WHERE id = 1
    RETURNING last_seq - (SELECT count(*) FROM numbered) AS base
), inserted AS (
    INSERT INTO usage (seq, request_id, ts_ms, model, backend, prompt_tokens, completion_tokens, cost_pico,
                       latency_ms, status, estimated, user_id, session_id, complexity, cost_priority,
                       key_name)
    SELECT cursor.base + numbered.k, request_id, ts_ms, model, backend, prompt_tokens, completion_tokens,
           cost_pico, latency_ms, status, estimated, user_id, session_id, complexity, cost_priority, key_name
    FROM numbered, cursor ORDER BY numbered.k
    ON CONFLICT (request_id) DO NOTHING  -- a concurrent writer's same id, committed meanwhile
    RETURNING 1
)
SELECT count(*) FROM inserted
"""
_COLUMNS = ("request_id", "ts_ms", "model", "backend", "prompt_tokens", "completion_tokens", "cost_pico",
            "latency_ms", "status", "estimated", "user_id", "session_id", "complexity", "cost_priority",
            "key_name")  # UsageRecord.as_row's order

_SUMMARY = """
SELECT model, backend,
       COUNT(*),
       COUNT(*) FILTER (WHERE status = 'error'),
       SUM(prompt_tokens), SUM(completion_tokens), SUM(estimated),
       COUNT(DISTINCT user_id),
       SUM(cost_pico),
       AVG(latency_ms),
       COUNT(*) FILTER (WHERE complexity = 'low'),
       SUM(CASE WHEN complexity = 'low' THEN prompt_tokens ELSE 0 END),
       SUM(CASE WHEN complexity = 'low' THEN completion_tokens ELSE 0 END)
FROM usage WHERE ts_ms >= %s AND ts_ms < %s
GROUP BY model, backend ORDER BY model COLLATE "C", backend COLLATE "C"
"""
# Nearest-rank p95 per group (gateway.ledger.p95_rank: k = ceil(0.95 n)), in the same integers.
_P95 = """
SELECT model, backend, latency_ms FROM (
    SELECT model, backend, latency_ms,
           row_number() OVER (PARTITION BY model, backend ORDER BY latency_ms) AS k,
           count(*) OVER (PARTITION BY model, backend) AS n
    FROM usage WHERE ts_ms >= %s AND ts_ms < %s
) ranked WHERE k = (n * 95 + 99) / 100
"""
_BY_KEY = """
SELECT key_name, backend, COUNT(*), COUNT(*) FILTER (WHERE status = 'error'), SUM(prompt_tokens),
       SUM(completion_tokens), SUM(cost_pico)
FROM usage WHERE ts_ms >= %s AND ts_ms < %s
GROUP BY key_name, backend ORDER BY key_name COLLATE "C" NULLS FIRST, backend COLLATE "C"
"""
_RECORDS = ("SELECT seq, request_id, ts_ms, model, backend, prompt_tokens, completion_tokens, cost_pico, "
            "latency_ms, status, estimated, complexity, cost_priority, user_id, session_id, key_name "
            "FROM usage WHERE seq > %s ORDER BY seq LIMIT %s")


def _int(value: Any) -> int:
    return int(value or 0)


class PostgresLedger:
    """A usage ledger in PostgreSQL; thread-safe (a connection per call from the pool)."""

    kind = "postgres"

    def __init__(self, dsn: str, *, connect_timeout_s: float = CONNECT_TIMEOUT_S) -> None:
        self.round_trips = 0
        self._count_lock = threading.Lock()
        self._snapshot = threading.local()
        self._timeout = connect_timeout_s
        self._pool = psycopg_pool.ConnectionPool(
            dsn, min_size=1, max_size=POOL_MAX, open=False, name="ledger",
            kwargs={"autocommit": True, "connect_timeout": max(int(connect_timeout_s), 1)},
            configure=self._connected, reconnect_timeout=24 * 3600)
        try:
            self._pool.open(wait=True, timeout=connect_timeout_s * 2)
            with self._conn() as conn:
                migrate(conn)
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError, LedgerUnavailable) as exc:
            self._pool.close()
            # psycopg's message names host and port, never the password; the DSN itself is not echoed.
            raise ConfigError(f"cannot reach the Postgres ledger ({_reason(exc)})") from None

    def _connected(self, conn: psycopg.Connection[Any]) -> None:
        self._count(1)  # the connection's startup exchange

    def _count(self, n: int = 1) -> None:
        with self._count_lock:
            self.round_trips += n

    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        held = getattr(self._snapshot, "conn", None)
        try:
            if held is not None:
                yield held
            else:
                with self._pool.connection(timeout=self._timeout) as conn:
                    yield conn
        except (psycopg_pool.PoolTimeout, psycopg.OperationalError) as exc:
            raise LedgerUnavailable(_reason(exc)) from None

    def _rows(self, sql: str, params: Any) -> list[tuple[Any, ...]]:
        with self._conn() as conn:
            self._count()
            return conn.execute(sql.encode(), params).fetchall()

    def record_many(self, records: Iterable[UsageRecord]) -> int:
        """Insert records in one statement (one round trip); duplicates are ignored. Returns how many
        rows were new."""
        rows = [r.as_row() for r in records]
        if not rows:
            return 0
        params = {name: list(column) for name, column in zip(_COLUMNS, zip(*rows, strict=True), strict=True)}
        return _int(self._rows(_INSERT, params)[0][0])

    def record(self, record: UsageRecord) -> bool:
        return self.record_many([record]) == 1

    def spend_pico(self, start: datetime, end: datetime, key_name: str | None = None) -> int:
        """Exact total cost of requests in [start, end); only the key's rows when a key is named."""
        if key_name is None:
            return _int(self._rows("SELECT SUM(cost_pico) FROM usage WHERE ts_ms >= %s AND ts_ms < %s",
                                   (to_ms(start), to_ms(end)))[0][0])
        return _int(self._rows("SELECT SUM(cost_pico) FROM usage WHERE ts_ms >= %s AND ts_ms < %s "
                               "AND key_name = %s", (to_ms(start), to_ms(end), key_name))[0][0])

    def count(self) -> int:
        return _int(self._rows("SELECT COUNT(*) FROM usage", ())[0][0])

    def summary_rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Per (model, backend) aggregates for [start, end), as `Ledger.summary_rows` gives them."""
        bounds = (to_ms(start), to_ms(end))
        with self.snapshot():
            groups = self._rows(_SUMMARY, bounds)
            p95 = {(model, backend): latency for model, backend, latency in self._rows(_P95, bounds)}
        out = []
        for (model, backend, requests, errors, prompt, completion, estimated, users, cost, avg_latency,
             low_requests, low_prompt, low_completion) in groups:
            out.append({
                "model": model, "backend": backend, "requests": _int(requests), "errors": _int(errors),
                "prompt_tokens": _int(prompt), "completion_tokens": _int(completion),
                "estimated_requests": _int(estimated), "unique_users": _int(users), "cost_pico": _int(cost),
                "avg_latency_ms": round(float(avg_latency), 3),
                "p95_latency_ms": round(float(p95[model, backend]), 3),
                "low_complexity_requests": _int(low_requests),
                "low_complexity_prompt_tokens": _int(low_prompt),
                "low_complexity_completion_tokens": _int(low_completion),
            })
        return out

    def key_rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Per (key_name, backend) aggregates for [start, end)."""
        return [{"key_name": name, "backend": backend, "requests": _int(requests), "errors": _int(errors),
                 "prompt_tokens": _int(prompt), "completion_tokens": _int(completion),
                 "cost_pico": _int(cost)}
                for name, backend, requests, errors, prompt, completion, cost
                in self._rows(_BY_KEY, (to_ms(start), to_ms(end)))]

    def unique_users(self, start: datetime, end: datetime) -> int:
        return _int(self._rows("SELECT COUNT(DISTINCT user_id) FROM usage WHERE ts_ms >= %s AND ts_ms < %s",
                               (to_ms(start), to_ms(end)))[0][0])

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads in this thread inside the block see one state (a REPEATABLE READ transaction)."""
        if getattr(self._snapshot, "conn", None) is not None:  # nested: the outer one holds it
            yield
            return
        with self._conn() as conn:
            self._count()
            conn.execute(b"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            self._snapshot.conn = conn
            try:
                yield
            finally:
                self._snapshot.conn = None
                self._count()
                with contextlib.suppress(psycopg.Error):
                    conn.execute(b"COMMIT")

    def records_after(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` rows with a cursor above `after`, in commit order."""
        out = []
        for row in self._rows(_RECORDS, (after, limit)):
            record = dict(zip(FIELD_NAMES, row, strict=True))
            record["estimated"] = bool(record["estimated"])
            out.append(record)
        return out

    def close(self) -> None:
        self._pool.close()


def _reason(exc: BaseException) -> str:
    """The driver's reason without the DSN (psycopg's messages name host/port, not the password)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text}"
