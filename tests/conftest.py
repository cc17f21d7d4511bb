"""Fixtures for every test directory: real Postgres (tests/pg.py)."""

from tests.pg import pg_dsn, private_postgres

__all__ = ["pg_dsn", "private_postgres"]
