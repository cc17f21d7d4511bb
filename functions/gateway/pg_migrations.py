"""Versioned schema migrations of the Postgres ledger, applied by every gateway at start.

`MIGRATIONS` is the whole history, oldest first; a new table (budget leases, ...) is one more
`(version, SQL)` line at the end, never an edit of an applied one. `migrate` takes a transaction-scoped
advisory lock before it reads `schema_migrations`, so gateways starting at once apply each version
exactly once: the others wait, then find it applied.
"""

from __future__ import annotations

from typing import Any

import psycopg

from .budget_leases_pg import SCHEMA as _BUDGET_LEASES

LOCK_KEY = 0x6C656467  # "ledg": the advisory lock all gateways take to migrate

_V1_USAGE = """
CREATE TABLE usage (
    seq               BIGINT PRIMARY KEY,
    request_id        TEXT NOT NULL UNIQUE,
    ts_ms             BIGINT NOT NULL,
    model             TEXT NOT NULL,
    backend           TEXT NOT NULL CHECK (backend IN ('serverless', 'gpu')),
    prompt_tokens     BIGINT NOT NULL CHECK (prompt_tokens >= 0),
    completion_tokens BIGINT NOT NULL CHECK (completion_tokens >= 0),
    cost_pico         BIGINT NOT NULL CHECK (cost_pico >= 0),
    latency_ms        DOUBLE PRECISION NOT NULL CHECK (latency_ms >= 0),
    status            TEXT NOT NULL CHECK (status IN ('ok', 'error', 'partial')),
    estimated         SMALLINT NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1)),
    user_id           TEXT,
    session_id        TEXT,
    complexity        TEXT CHECK (complexity IN ('low', 'medium', 'high')),
    cost_priority     TEXT,
    key_name          TEXT
);
CREATE INDEX usage_by_time ON usage (ts_ms, model, backend);
-- The export cursor (ADR 0008): one row, advanced inside each write transaction, so its row lock
-- orders writers and cursor order is commit order (a sequence is not).
CREATE TABLE ledger_cursor (id SMALLINT PRIMARY KEY CHECK (id = 1), last_seq BIGINT NOT NULL);
INSERT INTO ledger_cursor VALUES (1, 0);
"""

MIGRATIONS: tuple[tuple[int, str], ...] = (
    (1, _V1_USAGE),
    (2, ";\n".join(_BUDGET_LEASES)),  # shared budget pools, leases and the spend trigger (ADR 0010)
)

_TABLE = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""


def migrate(conn: psycopg.Connection[Any], migrations: tuple[tuple[int, str], ...] = MIGRATIONS) -> list[int]:
    """Apply the versions not yet applied, in one transaction under the advisory lock; returns them."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(_TABLE)
        done = {version for (version,) in conn.execute("SELECT version FROM schema_migrations")}
        for version, sql in migrations:
            if version in done:
                continue
            conn.execute(sql.encode())  # no parameters: several statements in one simple query
            conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
            applied.append(version)
    return applied
