"""A gateway on a Postgres ledger: /readyz and /metrics say when the store is down and back; rows
are served and kept meanwhile; the DSN and its password reach no log line."""

from __future__ import annotations

import time

import psycopg
import requests

from tests.gateway.conftest import ADMIN_TOKEN, SMALL, running_gateway
from tests.postgres.test_writer_postgres_down import wait_for

PASSWORD = "pw-never-in-a-log-4711"


def test_readyz_and_metrics_report_the_store_down_and_back_and_never_show_the_dsn(
        backends, private_postgres, tmp_path, caplog):
    with private_postgres_user(private_postgres) as dsn, \
            running_gateway(backends, tmp_path, LEDGER_URL=dsn) as gw:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        assert gw.chat({"model": SMALL, "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
        assert gw.app.writer.flush()
        ready = requests.get(f"{gw.url}/readyz", timeout=10).json()
        assert ready["status"] == "ready"
        assert ready["ledger"] == {"store": "postgres", "up": True, "queued": 0}
        metrics = requests.get(f"{gw.url}/metrics", headers=admin, timeout=10).text
        assert "gateway_ledger_store_up 1.0" in metrics
        assert 'gateway_postgres_round_trips_total{purpose="ledger"}' in metrics
        private_postgres.stop()
        assert gw.chat({"model": SMALL, "messages": [{"role": "user", "content": "hi"}]}).status_code == 200
        assert wait_for(lambda: not gw.app.writer.store_up)
        time.sleep(2.1)  # readyz caches its answer for 2 s
        ready = requests.get(f"{gw.url}/readyz", timeout=10)
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded" and ready.json()["ledger"]["up"] is False
        assert ready.json()["ledger"]["queued"] >= 1
        metrics = requests.get(f"{gw.url}/metrics", headers=admin, timeout=10).text
        assert "gateway_ledger_store_up 0.0" in metrics
        summary = requests.get(f"{gw.url}/v1/usage/summary?period=day", headers=admin, timeout=30)
        assert summary.status_code == 503 and summary.json()["error"]["code"] == "ledger_unavailable"
        private_postgres.start()
        assert wait_for(lambda: gw.app.writer.store_up and gw.app.writer.pending == 0, timeout=30)
        assert gw.app.ledger.count() == 2
    assert PASSWORD not in caplog.text and dsn not in caplog.text


class private_postgres_user:  # a context manager, named like one
    """A login role with a password, so the DSN carries a secret the logs must not show."""

    def __init__(self, cluster) -> None:
        self.cluster = cluster

    def __enter__(self) -> str:
        with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
            conn.execute(f"CREATE ROLE gw LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
        return f"postgresql://gw:{PASSWORD}@127.0.0.1:{self.cluster.port}/postgres"

    def __exit__(self, *exc: object) -> None:
        return None
