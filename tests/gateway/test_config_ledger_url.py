"""LEDGER_URL: a SQLite path (default) or a Postgres DSN with TLS unless loopback; a secret either way."""

from __future__ import annotations

import logging

import pytest

from gateway import env_names
from gateway.config import DEFAULT_LEDGER_URL, GatewayConfig
from llm_shared.errors import ConfigError

from .test_config import BASE

PASSWORD = "hunter2-ledger-password"


def config(**env: str) -> GatewayConfig:
    return GatewayConfig.from_env({**BASE, **env})


def test_the_default_is_the_sqlite_file_and_a_path_stays_a_path():
    assert config().ledger_url == DEFAULT_LEDGER_URL and not config().ledger_is_postgres
    assert config().dead_letter_path == f"{DEFAULT_LEDGER_URL}.dead-letter.jsonl"
    assert config(LEDGER_URL="/data/ledger.db").ledger_url == "/data/ledger.db"


@pytest.mark.parametrize("url", [
    f"postgresql://gw:{PASSWORD}@db.example.test:5432/ledger?sslmode=require",
    f"postgres://gw:{PASSWORD}@db.example.test/ledger?sslmode=verify-full&sslrootcert=/etc/rds.pem",
    f"postgresql://gw:{PASSWORD}@127.0.0.1:5432/ledger",  # loopback: TLS optional
    "postgresql://postgres@localhost/ledger",
])
def test_a_postgres_dsn_is_accepted_and_is_a_secret(url):
    c = config(LEDGER_URL=url)
    assert c.ledger_is_postgres and c.ledger_url == url
    assert url in c.secrets() and (PASSWORD in c.secrets()) == (PASSWORD in url)
    assert PASSWORD not in repr(c) and PASSWORD not in c.ledger_label
    assert c.dead_letter_path == "gateway-ledger.dead-letter.jsonl"
    assert env_names.LEDGER_URL in env_names.SECRETS


@pytest.mark.parametrize(("url", "fragment"), [
    (f"postgresql://gw:{PASSWORD}@db.example.test:5432/ledger",
     "needs sslmode=require|verify-ca|verify-full"),
    (f"postgresql://gw:{PASSWORD}@db.example.test/ledger?sslmode=prefer", "needs sslmode="),
    (f"postgresql://gw:{PASSWORD}@db.example.test:5432/?sslmode=require", "names no database"),
    (f"postgresql://gw:{PASSWORD}@:5432/ledger?sslmode=require", "names no host"),
    (f"postgresql://gw:{PASSWORD}@db.example.test:99999/ledger", "cannot be parsed"),
    (f"mysql://gw:{PASSWORD}@db.example.test/ledger", "not a postgresql:// DSN"),
])
def test_a_bad_dsn_names_the_variable_and_never_echoes_it(url, fragment):
    with pytest.raises(ConfigError) as caught:
        config(LEDGER_URL=url)
    message = str(caught.value)
    assert message.startswith("LEDGER_URL: ") and fragment in message
    assert PASSWORD not in message and "db.example.test" not in message


def test_the_old_ledger_path_is_an_alias_for_one_release_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING):
        assert config(LEDGER_PATH="/data/old.db").ledger_url == "/data/old.db"
    assert "LEDGER_PATH is deprecated" in caplog.text
    with pytest.raises(ConfigError, match="set only LEDGER_URL"):
        config(LEDGER_PATH="/data/old.db", LEDGER_URL="/data/new.db")
    with pytest.raises(ConfigError, match="LEDGER_PATH takes a SQLite file path only") as caught:
        config(LEDGER_PATH=f"postgresql://gw:{PASSWORD}@db.example.test/ledger")
    assert PASSWORD not in str(caught.value)


def test_the_queue_limit_is_checked():
    assert config(LEDGER_QUEUE_LIMIT="5000").ledger_queue_limit == 5000
    with pytest.raises(ConfigError, match="LEDGER_QUEUE_LIMIT"):
        config(LEDGER_QUEUE_LIMIT="10")
