"""The usage ledger: one SQLite row per request, aggregated in SQL.

WAL mode lets the gateway's writer and the usage-summary readers work at once; each thread gets
its own connection. Request ids are unique, so a retried write never counts a request twice.
Costs are integer picodollars, so SUM() is exact. `seq` is the commit-order cursor the usage
export pages by (docs/adr/0008-usage-records-cursor.md): an INTEGER PRIMARY KEY, so SQLite assigns
it inside the single writer's transaction and VACUUM never renumbers it.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from llm_shared.errors import ConfigError
from llm_shared.usage_records import BACKENDS as BACKEND_NAMES
from llm_shared.usage_records import COMPLEXITIES, FIELD_NAMES, STATUSES

_COLUMNS = """
    seq               INTEGER PRIMARY KEY,
    request_id        TEXT NOT NULL UNIQUE,
    ts_ms             INTEGER NOT NULL,
    model             TEXT NOT NULL,
    backend           TEXT NOT NULL CHECK (backend IN ('serverless', 'gpu')),
    prompt_tokens     INTEGER NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens INTEGER NOT NULL CHECK (completion_tokens >= 0),
    cost_pico         INTEGER NOT NULL CHECK (cost_pico >= 0),
    latency_ms        REAL NOT NULL CHECK (latency_ms >= 0),
    status            TEXT NOT NULL CHECK (status IN ('ok', 'error', 'partial')),
    estimated         INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),
    user_id           TEXT,
    session_id        TEXT,
    complexity        TEXT CHECK (complexity IN ('low', 'medium', 'high')),
    cost_priority     TEXT,
    key_name          TEXT
"""
_INDEX = "CREATE INDEX IF NOT EXISTS usage_by_time ON usage (ts_ms, model, backend);"
SCHEMA = f"CREATE TABLE IF NOT EXISTS usage ({_COLUMNS});\n{_INDEX}\n"
# Ledgers written before the cursor existed (request_id was the key, seq the hidden rowid): the
# table is rebuilt once with seq = the old rowid, which SQLite also assigned in insert order.
_OLD_COLUMNS = ("request_id, ts_ms, model, backend, prompt_tokens, completion_tokens, cost_pico, "
                "latency_ms, status, estimated, user_id, session_id, complexity")
_MIGRATE = f"""
CREATE TABLE usage_with_seq ({_COLUMNS});
INSERT INTO usage_with_seq (seq, {_OLD_COLUMNS}) SELECT rowid, {_OLD_COLUMNS} FROM usage ORDER BY rowid;
DROP TABLE usage;
ALTER TABLE usage_with_seq RENAME TO usage;
{_INDEX}
"""  # noqa: S608 - constant column lists, no input
# Ledgers from before named client keys: the column is added (NULL in their rows: no key known).
_ADD_KEY_NAME = "ALTER TABLE usage ADD COLUMN key_name TEXT"

_INSERT_HEAD = (
    "INSERT OR IGNORE INTO usage (request_id, ts_ms, model, backend, prompt_tokens, "
    "completion_tokens, cost_pico, latency_ms, status, estimated, user_id, session_id, complexity, "
    "cost_priority, key_name) VALUES "
)
_ROW_VALUES = 15  # values per row, as UsageRecord.as_row gives them
# Rows per INSERT statement: one statement steps SQLite once for the lot, so the writer thread
# gives the interpreter lock back (and waits to re-take it from a busy request loop) once per
# ROWS_PER_STATEMENT rows, where executemany did it for every row. 15 x 500 parameters stay far
# below SQLite's limit of 32,766 bound variables.
ROWS_PER_STATEMENT = 500


def _insert_sql(rows: int) -> str:
    return _INSERT_HEAD + ",".join(("(" + ",".join("?" * _ROW_VALUES) + ")",) * rows)


_INSERT_FULL = _insert_sql(ROWS_PER_STATEMENT)
# One page of finished rows in commit order; the export reads it (llm_shared.usage_records).
_RECORDS = ("SELECT seq, request_id, ts_ms, model, backend, prompt_tokens, completion_tokens, cost_pico, "
            "latency_ms, status, estimated, complexity, cost_priority, user_id, session_id, key_name "
            "FROM usage WHERE seq > ? ORDER BY seq LIMIT ?")

_SUMMARY = """
SELECT model, backend,
       COUNT(*)                  AS requests,
       SUM(status = 'error')     AS errors,
       SUM(prompt_tokens)        AS prompt_tokens,
       SUM(completion_tokens)    AS completion_tokens,
       SUM(estimated)            AS estimated_requests,
       COUNT(DISTINCT user_id)   AS unique_users,
       SUM(cost_pico)            AS cost_pico,
       AVG(latency_ms)           AS avg_latency_ms,
       SUM(complexity = 'low')   AS low_complexity_requests,
       SUM(CASE WHEN complexity = 'low' THEN prompt_tokens ELSE 0 END)     AS low_prompt,
       SUM(CASE WHEN complexity = 'low' THEN completion_tokens ELSE 0 END) AS low_completion
FROM usage WHERE ts_ms >= ? AND ts_ms < ?
GROUP BY model, backend ORDER BY model, backend
"""

# Spend per client key and backend (the summary's by_key); NULL key_name: rows from before key names.
_BY_KEY = """
SELECT key_name, backend, COUNT(*), SUM(status = 'error'), SUM(prompt_tokens), SUM(completion_tokens),
       SUM(cost_pico)
FROM usage WHERE ts_ms >= ? AND ts_ms < ?
GROUP BY key_name, backend ORDER BY key_name, backend
"""

# Nearest-rank p95 of one group: the k-th smallest latency, k = ceil(0.95 n), read as the
# (n - k + 1)-th largest so SQLite's bounded sorter keeps only the top ~5 % of rows
# (3x faster on a month of 1M requests than a window function over every row).
_P95 = """
SELECT latency_ms FROM usage
WHERE ts_ms >= ? AND ts_ms < ? AND model = ? AND backend = ?
ORDER BY latency_ms DESC LIMIT 1 OFFSET ?
"""


def p95_rank(n: int) -> int:
    """1-based nearest rank of the 95th percentile among n values."""
    return (n * 95 + 99) // 100


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """One finished request, validated so the ledger never holds garbage."""

    request_id: str
    ts_ms: int
    model: str
    backend: str
    prompt_tokens: int
    completion_tokens: int
    cost_pico: int
    latency_ms: float
    status: str = "ok"
    estimated: bool = False
    user_id: str | None = None
    session_id: str | None = None
    complexity: str | None = None  # the router's estimate; the optimization report reads it
    cost_priority: str | None = None  # the client's stated priority, for the analytics export
    key_name: str | None = None  # the client key's name (gateway/client_keys.py); None in old rows

    def __post_init__(self) -> None:
        if not self.request_id:
            raise ConfigError("usage record: request_id is required")
        if not self.model:
            raise ConfigError("usage record: model is required")
        if self.backend not in BACKEND_NAMES:
            raise ConfigError(f"usage record: backend {self.backend!r} is not one of {BACKEND_NAMES}")
        if self.status not in STATUSES:
            raise ConfigError(f"usage record: status {self.status!r} is not one of {STATUSES}")
        for name in ("ts_ms", "prompt_tokens", "completion_tokens", "cost_pico"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"usage record: {name} must be an integer >= 0, got {value!r}")
        if self.complexity is not None and self.complexity not in COMPLEXITIES:
            raise ConfigError(f"usage record: complexity {self.complexity!r} is not low, medium or high")
        if not self.latency_ms >= 0:
            raise ConfigError(f"usage record: latency_ms must be >= 0, got {self.latency_ms!r}")

    def as_row(self) -> tuple[Any, ...]:
        # Plain attribute reads: dataclasses.astuple deep-copies every field, and the gateway's
        # writer thread calls this thousands of times a second while holding the GIL.
        return (self.request_id, self.ts_ms, self.model, self.backend, self.prompt_tokens,
                self.completion_tokens, self.cost_pico, self.latency_ms, self.status, int(self.estimated),
                self.user_id, self.session_id, self.complexity, self.cost_priority, self.key_name)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch for an aware datetime."""
    if moment.tzinfo is None:
        raise ConfigError("timestamps must be timezone-aware")
    return int(moment.timestamp() * 1000)


class Ledger:
    """A SQLite usage ledger; safe to use from several threads (one connection each)."""

    kind = "sqlite"  # gateway.ledger_store.LedgerStore
    round_trips = 0  # an embedded database: no server round trips

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        conn = self._conn()
        conn.executescript(SCHEMA)
        self._add_cursor(conn)
        self._add_key_name(conn)

    @staticmethod
    def _add_cursor(conn: sqlite3.Connection) -> None:
        """Rebuild a ledger from before the cursor, once (rechecked under the write lock)."""
        if any(row[1] == "seq" for row in conn.execute("PRAGMA table_info(usage)")):
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not any(row[1] == "seq" for row in conn.execute("PRAGMA table_info(usage)")):
                for statement in filter(str.strip, _MIGRATE.split(";")):
                    conn.execute(statement)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    @staticmethod
    def _add_key_name(conn: sqlite3.Connection) -> None:
        """Add the key_name column to a ledger from before it, once (rechecked under the write lock)."""
        def has_it() -> bool:
            return any(row[1] == "key_name" for row in conn.execute("PRAGMA table_info(usage)"))

        if has_it():
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            if not has_it():
                conn.execute(_ADD_KEY_NAME)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def record_many(self, records: Iterable[UsageRecord]) -> int:
        """Insert records in one transaction; duplicates (same request id) are ignored.

        Returns how many rows were new.
        """
        rows = [r.as_row() for r in records]
        if not rows:
            return 0
        conn = self._conn()
        before = conn.total_changes
        conn.execute("BEGIN IMMEDIATE")
        try:
            for start in range(0, len(rows), ROWS_PER_STATEMENT):
                chunk = rows[start:start + ROWS_PER_STATEMENT]
                sql = _INSERT_FULL if len(chunk) == ROWS_PER_STATEMENT else _insert_sql(len(chunk))
                conn.execute(sql, [value for row in chunk for value in row])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return conn.total_changes - before

    def record(self, record: UsageRecord) -> bool:
        return self.record_many([record]) == 1

    def spend_pico(self, start: datetime, end: datetime, key_name: str | None = None) -> int:
        """Exact total cost of requests in [start, end); only the key's rows when a key is named."""
        if key_name is None:
            row = self._conn().execute(
                "SELECT COALESCE(SUM(cost_pico), 0) FROM usage WHERE ts_ms >= ? AND ts_ms < ?",
                (to_ms(start), to_ms(end)),
            ).fetchone()
        else:
            row = self._conn().execute(
                "SELECT COALESCE(SUM(cost_pico), 0) FROM usage WHERE ts_ms >= ? AND ts_ms < ? "
                "AND key_name = ?",
                (to_ms(start), to_ms(end), key_name),
            ).fetchone()
        return int(row[0])

    def count(self) -> int:
        return int(self._conn().execute("SELECT COUNT(*) FROM usage").fetchone()[0])

    def summary_rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Per (model, backend) aggregates for [start, end), computed in SQL."""
        bounds = (to_ms(start), to_ms(end))
        conn = self._conn()
        out = []
        for row in conn.execute(_SUMMARY, bounds).fetchall():
            (model, backend, requests, errors, prompt, completion, estimated, users, cost,
             avg_latency, low_requests, low_prompt, low_completion) = row
            offset = requests - p95_rank(requests)
            p95 = conn.execute(_P95, (*bounds, model, backend, offset)).fetchone()[0]
            out.append({
                "model": model, "backend": backend, "requests": requests, "errors": errors,
                "prompt_tokens": prompt, "completion_tokens": completion,
                "estimated_requests": estimated, "unique_users": users, "cost_pico": cost,
                "avg_latency_ms": round(float(avg_latency), 3),
                "p95_latency_ms": round(float(p95), 3),
                "low_complexity_requests": low_requests or 0,
                "low_complexity_prompt_tokens": low_prompt or 0,
                "low_complexity_completion_tokens": low_completion or 0,
            })
        return out

    def key_rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Per (key_name, backend) aggregates for [start, end), computed in SQL."""
        return [{"key_name": name, "backend": backend, "requests": requests, "errors": errors,
                 "prompt_tokens": prompt, "completion_tokens": completion, "cost_pico": cost}
                for name, backend, requests, errors, prompt, completion, cost
                in self._conn().execute(_BY_KEY, (to_ms(start), to_ms(end))).fetchall()]

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads in this thread inside the block see one state of the ledger (a read transaction),
        so the summary's breakdown, per-key rows and totals agree while the writer commits."""
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("COMMIT")

    def records_after(self, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` rows with a cursor above `after`, in commit order (the fields of
        llm_shared.usage_records; `estimated` as a bool)."""
        rows = self._conn().execute(_RECORDS, (after, limit)).fetchall()
        out = []
        for row in rows:
            record = dict(zip(FIELD_NAMES, row, strict=True))
            record["estimated"] = bool(record["estimated"])
            out.append(record)
        return out

    def unique_users(self, start: datetime, end: datetime) -> int:
        row = self._conn().execute(
            "SELECT COUNT(DISTINCT user_id) FROM usage WHERE ts_ms >= ? AND ts_ms < ?",
            (to_ms(start), to_ms(end)),
        ).fetchone()
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()
