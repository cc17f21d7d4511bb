"""A real gateway on 127.0.0.1 with both stand-in backends, and gateway clients for the ops tools."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from llm_ops.client import GatewayClient
from tests.gateway import conftest as gateway_fixtures
from tests.gateway.conftest import ADMIN_TOKEN, CLIENT_TOKEN, Gateway

# The gateway tests' own fixtures, served to these tests too (one real gateway on both stand-ins).
backends, gw = gateway_fixtures.backends, gateway_fixtures.gw

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


@pytest.fixture
def admin(gw: Gateway) -> Iterator[GatewayClient]:
    with GatewayClient(gw.url, CLIENT_TOKEN, ADMIN_TOKEN) as client:
        yield client


@pytest.fixture
def client_only(gw: Gateway) -> Iterator[GatewayClient]:
    with GatewayClient(gw.url, CLIENT_TOKEN) as client:
        yield client


def ledger_totals(gw: Gateway) -> tuple[int, int, int, int]:
    """(rows, prompt tokens, completion tokens, cost in picodollars) straight from the SQLite ledger."""
    rows = gw.rows()
    return len(rows), sum(r[3] for r in rows), sum(r[4] for r in rows), sum(r[5] for r in rows)
