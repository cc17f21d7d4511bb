"""Real PostgreSQL for tests: a fresh database on the machine's server, or a private throwaway cluster.

`pg_dsn` (fixture): a new database with a random name on 127.0.0.1:5432 (trust auth, user postgres),
dropped after the test. `private_postgres` (fixture) / `PrivatePostgres`: a cluster of its own
(initdb + pg_ctl run as the `postgres` OS user, since tests run as root) on a free loopback port,
which a test may stop and start again; its data directory is removed afterwards. Nothing here
skips: the suite runs where Postgres is installed (.ci/run starts the machine's server).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

ADMIN_DSN = os.environ.get("PG_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_BIN = Path(os.environ.get("PG_TEST_BIN", "/usr/lib/postgresql/15/bin"))
OS_USER = "postgres"


def _with_database(dsn: str, name: str) -> str:
    base, _, _ = dsn.rpartition("/")
    return f"{base}/{name}"


@contextlib.contextmanager
def fresh_database(admin_dsn: str = ADMIN_DSN) -> Iterator[str]:
    """CREATE DATABASE with a random name; yield its DSN; DROP it (closing stray sessions)."""
    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(admin_dsn, name)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def one(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The single value a query returns (tests' shorthand)."""
    row = conn.execute(sql, params).fetchone()
    assert row is not None, sql
    return row[0]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """A throwaway cluster on 127.0.0.1:<port> that a test may stop (down) and start (back)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pg-private-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = free_port()
        shutil.chown(self.dir, OS_USER, OS_USER)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        command = ["runuser", "-u", OS_USER, "--", str(PG_BIN / tool), *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}): {result.stdout}{result.stderr}")

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c max_connections=50")
        self._run("pg_ctl", "start", "-w", "-t", "30", "-D", str(self.data), "-l", str(self.log),
                  "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """`fast` ends sessions cleanly; `immediate` is a crash (recovery at the next start)."""
        self._run("pg_ctl", "stop", "-w", "-t", "30", "-m", mode, "-D", str(self.data))

    def running(self) -> bool:
        result = subprocess.run(["runuser", "-u", OS_USER, "--", str(PG_BIN / "pg_ctl"), "status", "-D",
                                 str(self.data)], capture_output=True, timeout=30, check=False)
        return result.returncode == 0

    def close(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.SubprocessError):
            if self.running():
                self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def pg_dsn() -> Iterator[str]:
    """DSN of a new, empty database on the machine's Postgres, dropped after the test."""
    with fresh_database() as dsn:
        yield dsn


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A started private cluster (stop()/start() it in the test); removed afterwards."""
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
