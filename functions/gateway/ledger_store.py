"""The ledger store the gateway writes and reads: SQLite (one host) or PostgreSQL (several gateways).

`LEDGER_URL` picks it (gateway/config.py validates it): a file path opens the SQLite `Ledger`
(unchanged), a `postgresql://` DSN the shared `PostgresLedger`. The app, the writer and the usage
endpoints only use this protocol, so both stores give the same rows, summary and records.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from gateway.ledger import Ledger, UsageRecord

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


class LedgerUnavailable(Exception):
    """The store cannot be reached (connection refused, server down): retry later, the rows are fine.

    Other exceptions from `record_many` mean the store refused these rows (the writer then writes
    them one by one and dead-letters the refused ones)."""


class LedgerStore(Protocol):
    kind: str  # "sqlite" or "postgres"
    round_trips: int  # requests sent to a database server (0 for SQLite: there is none)

    def record_many(self, records: Iterable[UsageRecord]) -> int: ...
    def record(self, record: UsageRecord) -> bool: ...
    def spend_pico(self, start: datetime, end: datetime, key_name: str | None = None) -> int: ...
    def count(self) -> int: ...
    def summary_rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]: ...
    def key_rows(self, start: datetime, end: datetime) -> list[dict[str, Any]]: ...
    def unique_users(self, start: datetime, end: datetime) -> int: ...
    def snapshot(self) -> contextlib.AbstractContextManager[None]: ...
    def records_after(self, after: int, limit: int) -> list[dict[str, Any]]: ...
    def close(self) -> None: ...


def is_postgres_url(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def open_ledger(url: str) -> LedgerStore:
    """Open (and create or migrate) the store `url` names: a Postgres DSN or a SQLite file path."""
    if is_postgres_url(url):
        from gateway.ledger_postgres import PostgresLedger  # psycopg only where it is used

        return PostgresLedger(url)
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return Ledger(url)
