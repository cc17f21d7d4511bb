"""Shared budget leases: the pure maths (slice sizing, grants and the one overdraft, admission and
expiry of a slice) and the Postgres lease call agreeing with it on a real database."""

from __future__ import annotations

import itertools

import psycopg
import pytest

from gateway import budget_leases as maths
from gateway.budget_leases_client import LeaseHolder, PoolWindow
from gateway.budget_leases_pg import LeaseAsk, LeaseStore, apply_schema
from gateway.config import GatewayConfig
from llm_shared.errors import ConfigError

# The columns of the ledger's usage table the lease trigger reads.
USAGE = ("CREATE TABLE usage (seq BIGSERIAL PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, "
         "ts_ms BIGINT NOT NULL, cost_pico BIGINT NOT NULL, key_name TEXT)")
ROW = "INSERT INTO usage (request_id, ts_ms, cost_pico, key_name) VALUES "


def test_grants_never_pass_the_limit_except_one_overdraft_of_one_request():
    assert maths.grant(1000, 300, 50, False) == (300, False)
    assert maths.grant(200, 300, 50, False) == (200, False)  # what is left
    assert maths.grant(30, 300, 50, False) == (50, True)      # 0 < left < need: the one overdraft
    assert maths.grant(30, 300, 50, True) == (0, False)       # ... once per (scope, period)
    assert maths.grant(0, 300, 50, False) == (0, False)
    assert maths.grant(-5, 300, 50, False) == (0, False)
    with pytest.raises(ValueError, match="need_pico"):
        maths.grant(10, 10, 0, False)


def test_any_sequence_of_grants_overshoots_by_less_than_the_largest_need():
    for needs in itertools.product((1, 7, 50), repeat=5):
        limit, outstanding, overdraft = 120, 0, False
        for need in needs * 4:
            granted, used = maths.grant(limit - outstanding, 40, need, overdraft)
            outstanding, overdraft = outstanding + granted, overdraft or used
        assert outstanding < limit + max(needs)


def test_slices_are_a_share_of_what_is_left_capped_by_the_rate_and_never_below_one_request():
    assert maths.slice_size(8000, 2, 0, 10) == 1000          # 8000 / (4 x 2)
    assert maths.slice_size(8000, 2, 10, 10) == 400          # 10/s x 20 s x 2
    assert maths.slice_size(30, 2, 0, 10) == 10              # never below the request's need
    assert maths.slice_size(-5, 0, 0, 10) == 10


def test_a_slice_admits_what_fits_and_nothing_past_its_local_expiry():
    piece = maths.Slice(granted_pico=100, settled_pico=30, reserved_pico=20, usable_until=10.0)
    assert piece.free(9.9) == 50 and piece.fits(50, 9.9) and not piece.fits(51, 9.9)
    assert piece.free(10.0) == 0 and not piece.fits(1, 10.0)
    assert maths.usable_until(100.0, 30.0, 2.0) == 128.0
    assert maths.needs_renewal(1000, 0, 150.0, 141.0, 30.0)       # under a third of the lease left
    assert maths.needs_renewal(10, 5, 150.0, 120.0, 30.0)          # free lasts < RENEW_LEAD_S
    assert not maths.needs_renewal(1000, 5, 150.0, 120.0, 30.0)


def _db(pg_dsn):
    conn = psycopg.connect(pg_dsn, autocommit=True)
    conn.execute(USAGE)
    apply_schema(conn)
    return conn


def _store(pg_dsn, replica, ttl_s=30.0, grace_s=0.0, trips=None):
    return LeaseStore(lambda: psycopg.connect(pg_dsn, autocommit=True), replica, ttl_s, grace_s,
                      (lambda: trips.append(1)) if trips is not None else (lambda: None))


def test_the_sql_lease_call_grants_as_the_pure_rule_does(pg_dsn):
    conn = _db(pg_dsn)
    store = _store(pg_dsn, "r1")
    limit, outstanding, overdraft = 500, 0, False
    for i, (want, need) in enumerate(list(itertools.product((0, 60, 200), (13, 90, 170))) * 3):
        [answer] = store.lease([LeaseAsk("stack", 0, 10**6, limit, want, need)])
        expected, used = maths.grant(limit - outstanding, want, need, overdraft)
        assert (answer.granted_pico, answer.overdraft) == (expected, used), i
        outstanding, overdraft = outstanding + expected, overdraft or used
    pool = conn.execute("SELECT outstanding_pico, overdraft_used FROM budget_pool").fetchone()
    assert pool == (outstanding, True) and outstanding < limit + 170


def test_ledger_rows_move_spend_from_the_lease_into_the_pool_in_their_own_transaction(pg_dsn):
    conn = _db(pg_dsn)
    conn.execute(ROW + "('gw-old-1', 5, 100, 'a')")
    store = _store(pg_dsn, "r1")
    asks = [LeaseAsk("stack", 0, 1000, 1000, 300, 50), LeaseAsk("key:a", 0, 1000, 400, 300, 50)]
    first = {a.scope: a for a in store.lease(asks)}
    key_a = first["key:a"]
    assert (first["stack"].spent_pico, key_a.granted_pico, key_a.available_pico) == (100, 300, 0)
    conn.execute(ROW + "('gw-r1-1', 6, 70, 'a'), ('gw-r2-1', 7, 5, 'b'), "
                 "('gw-r1-2', 2000, 9, 'a')")  # another replica's row; a row of another period
    conn.execute(ROW + "('gw-r1-1', 6, 70, 'a') ON CONFLICT DO NOTHING")  # a retried row: not counted twice
    query = "SELECT scope, spent_pico, outstanding_pico FROM budget_pool"
    pools = {row[0]: row[1:] for row in conn.execute(query)}
    assert pools == {"stack": (175, 230), "key:a": (170, 230)}
    leases = dict(conn.execute("SELECT scope, outstanding_pico FROM budget_lease").fetchall())
    assert leases == {"stack": 230, "key:a": 230}


def test_an_expired_lease_is_reaped_and_its_money_granted_again(pg_dsn):
    conn = _db(pg_dsn)
    dead = _store(pg_dsn, "dead", ttl_s=0.05)
    [grant] = dead.lease([LeaseAsk("stack", 0, 10**6, 100, 100, 10)])
    assert grant.granted_pico == 100
    live = _store(pg_dsn, "live")
    assert live.lease([LeaseAsk("stack", 0, 10**6, 100, 100, 10)])[0].granted_pico == 0
    conn.execute("SELECT pg_sleep(0.1)")
    again = live.lease([LeaseAsk("stack", 0, 10**6, 100, 100, 10)])[0]
    assert (again.granted_pico, again.replicas) == (100, 1)
    assert conn.execute("SELECT outstanding_pico FROM budget_pool").fetchone() == (100,)


def test_the_holder_admits_locally_and_renews_off_the_request_path(pg_dsn):
    _db(pg_dsn)
    trips: list[int] = []
    holder = LeaseHolder(_store(pg_dsn, "r1", trips=trips), ttl_s=30, margin_s=1)
    window = PoolWindow("stack", 0, 10**12, 10**9)
    assert not holder.reserve([window], 10)  # nothing held yet
    assert holder.lease_for([window], 10)  # one round trip, then held like reserve()
    holder.settle([window], 10, 7)
    for _ in range(999):
        assert holder.reserve([window], 10)
        holder.settle([window], 10, 7)
    assert len(trips) == 1  # one slice covered 1,000 requests
    held = holder.snapshot()[("stack", 0)]
    assert (held.settled_pico, held.reserved_pico) == (7000, 0)
    holder.give_back()
    assert holder.snapshot()[("stack", 0)].free(0) == 0


def test_lease_times_are_configured_and_a_margin_not_below_the_lease_is_refused_by_name():
    base = {"GATEWAY_CLIENT_TOKENS": "client-token-for-tests-0001",
            "GATEWAY_ADMIN_TOKEN": "admin-token-for-tests-01",
            "SERVERLESS_BASE_URL": "http://127.0.0.1:9", "GPU_BASE_URL": "http://127.0.0.1:9"}
    config = GatewayConfig.from_env({**base, "BUDGET_LEASE_SECONDS": "1.5",
                                     "BUDGET_LEASE_MARGIN_SECONDS": "0.1"})
    assert (config.budget_lease_s, config.budget_lease_margin_s) == (1.5, 0.1)
    assert GatewayConfig.from_env(base).budget_lease_s == 30.0
    with pytest.raises(ConfigError, match=r"BUDGET_LEASE_MARGIN_SECONDS \(2\) must be below BUDGET_LEASE"):
        GatewayConfig.from_env({**base, "BUDGET_LEASE_SECONDS": "2", "BUDGET_LEASE_MARGIN_SECONDS": "2"})


def test_budgets_past_the_bigint_range_lease_exactly(pg_dsn):
    _db(pg_dsn)
    ten_million_usd = 10**19  # picodollars; more than a Postgres BIGINT holds
    [answer] = _store(pg_dsn, "big").lease([LeaseAsk("stack", 0, 10**6, ten_million_usd, 10**18 + 1, 7)])
    assert (answer.granted_pico, answer.available_pico) == (10**18 + 1, ten_million_usd - 10**18 - 1)
    assert isinstance(answer.granted_pico, int)
