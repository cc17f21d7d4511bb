"""The Postgres fixtures themselves: a fresh database is empty and dropped; a private cluster restarts."""

from __future__ import annotations

import psycopg
import pytest

from tests.pg import ADMIN_DSN, fresh_database, one


def test_a_fresh_database_is_empty_and_dropped_after() -> None:
    with fresh_database() as dsn, psycopg.connect(dsn) as conn:
        name = one(conn, "SELECT current_database()")
        assert one(conn, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'") == 0
    with psycopg.connect(ADMIN_DSN) as conn:
        assert one(conn, "SELECT count(*) FROM pg_database WHERE datname = %s", (name,)) == 0


def test_a_private_cluster_stops_and_starts_again_keeping_its_data(private_postgres) -> None:
    with psycopg.connect(private_postgres.dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (1)")
    private_postgres.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(private_postgres.dsn, connect_timeout=2)
    private_postgres.start()
    with psycopg.connect(private_postgres.dsn) as conn:
        assert conn.execute("SELECT x FROM kept").fetchall() == [(1,)]
