"""The Postgres side of shared budgets (docs/adr/0010): lease tables, the spend trigger, and the
one-statement lease call.

`budget_pool` holds one row per (scope, period): its limit (the critical threshold), the spend of
the ledger rows in the period (`spent_pico`, kept by a statement trigger on `usage` in the very
transaction that inserts the rows, so it always equals the ledger's sum) and the money leased out
and not yet spent (`outstanding_pico` = sum over live leases). `budget_lease` holds each replica's
outstanding part and expiry. A replica's rows are matched to its lease by the request-id prefix
(`gw-<replica>-<n>`), so a row's cost moves from the replica's outstanding part into `spent_pico`
atomically at commit: nothing is counted twice or lost between the two.

`budget_lease(...)` (one round trip) reaps expired leases, returns what a replica gives back,
grants slices by the rule of budget_leases.grant (mirrored here in SQL, tested to agree) and
renews the expiry, for every (scope, period) of the call at once, locking pool rows in key order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

STACK_SCOPE = "stack"
KEY_SCOPE_PREFIX = "key:"
_POOL_LOCK = 7_310_015  # advisory lock: pool creation (exclusive) vs ledger inserts (shared)

# Statements of the lease schema, in order; pg-ledger's migrations module applies them as one
# version, after the `usage` table exists (they read its request_id, ts_ms, cost_pico, key_name).
SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS budget_pool (
        scope            TEXT   NOT NULL,
        period_start_ms  BIGINT NOT NULL,
        period_end_ms    BIGINT NOT NULL,
        limit_pico       NUMERIC(38) NOT NULL CHECK (limit_pico > 0),
        spent_pico       NUMERIC(38) NOT NULL,
        outstanding_pico NUMERIC(38) NOT NULL DEFAULT 0,
        overdraft_used   BOOLEAN NOT NULL DEFAULT FALSE,
        PRIMARY KEY (scope, period_start_ms))""",
    """CREATE TABLE IF NOT EXISTS budget_lease (
        scope            TEXT   NOT NULL,
        period_start_ms  BIGINT NOT NULL,
        replica          TEXT   NOT NULL,
        outstanding_pico NUMERIC(38) NOT NULL,
        expires_at_ms    BIGINT NOT NULL,
        PRIMARY KEY (scope, period_start_ms, replica),
        FOREIGN KEY (scope, period_start_ms) REFERENCES budget_pool ON DELETE CASCADE)""",
    f"""CREATE OR REPLACE FUNCTION budget_spend_from_usage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_advisory_xact_lock_shared({_POOL_LOCK});
        PERFORM 1 FROM budget_pool p  -- pool rows locked in key order, as budget_lease does
            WHERE EXISTS (SELECT 1 FROM new_rows n
                          WHERE n.ts_ms >= p.period_start_ms AND n.ts_ms < p.period_end_ms
                            AND (p.scope = '{STACK_SCOPE}' OR p.scope = '{KEY_SCOPE_PREFIX}' || n.key_name))
            ORDER BY p.scope, p.period_start_ms FOR UPDATE;
        WITH costs AS (
            SELECT p.scope, p.period_start_ms, split_part(n.request_id, '-', 2) AS replica,
                   sum(n.cost_pico) AS cost
            FROM new_rows n JOIN budget_pool p
              ON n.ts_ms >= p.period_start_ms AND n.ts_ms < p.period_end_ms
             AND (p.scope = '{STACK_SCOPE}' OR p.scope = '{KEY_SCOPE_PREFIX}' || n.key_name)
            GROUP BY 1, 2, 3),
        matched AS (
            UPDATE budget_lease l SET outstanding_pico = l.outstanding_pico - c.cost
            FROM costs c
            WHERE l.scope = c.scope AND l.period_start_ms = c.period_start_ms AND l.replica = c.replica
            RETURNING l.scope, l.period_start_ms, c.cost),
        totals AS (
            SELECT c.scope, c.period_start_ms, sum(c.cost) AS total,
                   (SELECT coalesce(sum(m.cost), 0) FROM matched m
                     WHERE m.scope = c.scope AND m.period_start_ms = c.period_start_ms) AS leased
            FROM costs c GROUP BY c.scope, c.period_start_ms)
        UPDATE budget_pool p SET spent_pico = p.spent_pico + t.total,
                                 outstanding_pico = p.outstanding_pico - t.leased
        FROM totals t WHERE p.scope = t.scope AND p.period_start_ms = t.period_start_ms;
        RETURN NULL;
    END $$""",  # noqa: S608 - module constants, no input
    "DROP TRIGGER IF EXISTS budget_spend ON usage",
    """CREATE TRIGGER budget_spend AFTER INSERT ON usage REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION budget_spend_from_usage()""",
    f"""CREATE OR REPLACE FUNCTION budget_lease(
            p_replica TEXT, p_ttl_ms BIGINT, p_grace_ms BIGINT, p_scopes TEXT[], p_starts BIGINT[],
            p_ends BIGINT[], p_limits NUMERIC[], p_wants NUMERIC[], p_needs NUMERIC[], p_returns NUMERIC[])
        RETURNS TABLE (scope TEXT, period_start_ms BIGINT, granted NUMERIC, overdraft BOOLEAN,
                       available NUMERIC, spent NUMERIC, replicas INT, fresh BOOLEAN)
        LANGUAGE plpgsql AS $$
    DECLARE
        i INT; pool budget_pool%ROWTYPE; avail NUMERIC; g NUMERIC; od BOOLEAN; reaped NUMERIC;
        mine NUMERIC; give NUMERIC; want NUMERIC;
        now_ms BIGINT := (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT;
    BEGIN
        FOR i IN SELECT u.ord FROM unnest(p_scopes, p_starts) WITH ORDINALITY AS u(s, st, ord)
                 ORDER BY u.s, u.st LOOP
            SELECT * INTO pool FROM budget_pool b
                WHERE b.scope = p_scopes[i] AND b.period_start_ms = p_starts[i] FOR UPDATE;
            IF NOT FOUND THEN  -- first lease of the period: seeded from the ledger, once
                PERFORM pg_advisory_xact_lock({_POOL_LOCK});
                INSERT INTO budget_pool AS b (scope, period_start_ms, period_end_ms, limit_pico, spent_pico)
                    SELECT p_scopes[i], p_starts[i], p_ends[i], p_limits[i], coalesce(sum(u.cost_pico), 0)
                    FROM usage u WHERE u.ts_ms >= p_starts[i] AND u.ts_ms < p_ends[i]
                      AND (p_scopes[i] = '{STACK_SCOPE}' OR '{KEY_SCOPE_PREFIX}' || u.key_name = p_scopes[i])
                    ON CONFLICT DO NOTHING;
                SELECT * INTO pool FROM budget_pool b
                    WHERE b.scope = p_scopes[i] AND b.period_start_ms = p_starts[i] FOR UPDATE;
            END IF;
            WITH gone AS (DELETE FROM budget_lease l
                          WHERE l.scope = pool.scope AND l.period_start_ms = pool.period_start_ms
                            AND l.expires_at_ms + p_grace_ms < now_ms AND l.replica <> p_replica
                          RETURNING l.outstanding_pico)
            SELECT coalesce(sum(gone.outstanding_pico), 0) INTO reaped FROM gone;
            SELECT l.outstanding_pico INTO mine FROM budget_lease l
                WHERE l.scope = pool.scope AND l.period_start_ms = pool.period_start_ms
                  AND l.replica = p_replica FOR UPDATE;
            give := least(greatest(p_returns[i], 0), greatest(coalesce(mine, 0), 0));
            pool.outstanding_pico := pool.outstanding_pico - reaped - give;
            avail := p_limits[i] - pool.spent_pico - pool.outstanding_pico;
            g := 0; od := FALSE;
            IF p_needs[i] > 0 THEN  -- budget_leases.grant
                want := greatest(p_wants[i], p_needs[i]);
                IF avail >= p_needs[i] THEN g := least(want, avail);
                ELSIF avail > 0 AND NOT pool.overdraft_used THEN g := p_needs[i]; od := TRUE;
                END IF;
            ELSIF p_wants[i] > 0 AND avail > 0 THEN  -- a background top-up: what is there
                g := least(p_wants[i], avail);
            END IF;
            UPDATE budget_pool b SET outstanding_pico = pool.outstanding_pico + g,
                                     overdraft_used = pool.overdraft_used OR od, limit_pico = p_limits[i]
                WHERE b.scope = pool.scope AND b.period_start_ms = pool.period_start_ms;
            INSERT INTO budget_lease AS l (scope, period_start_ms, replica, outstanding_pico, expires_at_ms)
                VALUES (pool.scope, pool.period_start_ms, p_replica, g - give, now_ms + p_ttl_ms)
                ON CONFLICT ON CONSTRAINT budget_lease_pkey DO UPDATE
                SET outstanding_pico = l.outstanding_pico + EXCLUDED.outstanding_pico,
                    expires_at_ms = EXCLUDED.expires_at_ms;
            scope := pool.scope; period_start_ms := pool.period_start_ms; granted := g; overdraft := od;
            available := avail - g; spent := pool.spent_pico; fresh := mine IS NULL;
            SELECT count(*) INTO replicas FROM budget_lease l
                WHERE l.scope = pool.scope AND l.period_start_ms = pool.period_start_ms;
            RETURN NEXT;
        END LOOP;
    END $$""",  # noqa: S608 - module constants, no input
)

_CALL = ("SELECT * FROM budget_lease(%s, %s, %s, %s::text[], %s::bigint[], %s::bigint[], %s::numeric[], "
         "%s::numeric[], %s::numeric[], %s::numeric[])")


def key_scope(key_name: str) -> str:
    return f"{KEY_SCOPE_PREFIX}{key_name}"


@dataclass(frozen=True, slots=True)
class LeaseAsk:
    """One (scope, period) of a lease call: ask for `want` (at least `need` when > 0), give back
    `give_back`; want = need = 0 only renews the expiry."""

    scope: str
    start_ms: int
    end_ms: int
    limit_pico: int
    want_pico: int = 0
    need_pico: int = 0
    give_back_pico: int = 0


@dataclass(frozen=True, slots=True)
class LeaseAnswer:
    scope: str
    start_ms: int
    granted_pico: int
    overdraft: bool
    available_pico: int   # the pool's room after this call (limit - spent - outstanding)
    spent_pico: int       # ledger spend of the period as the pool counts it
    replicas: int         # live leases on this (scope, period), this replica's included
    fresh: bool           # this replica had no lease there (first one, or its old one was reaped)


class LeaseStore:
    """Thin adapter: one `budget_lease` call per lease round trip on a psycopg connection factory.

    `on_round_trip` is called once per statement sent (the gateway counts it as
    gateway_postgres_round_trips_total{purpose="lease"}).
    """

    def __init__(self, connect: Callable[[], Any], replica: str, ttl_s: float, grace_s: float,
                 on_round_trip: Callable[[], None] = lambda: None) -> None:
        if "-" in replica or not replica:
            raise ValueError(f"replica id must be non-empty without '-', got {replica!r}")
        self._connect = connect
        self._conn: Any = None
        self.replica = replica
        self.ttl_ms = int(ttl_s * 1000)
        self.grace_ms = int(grace_s * 1000)
        self._on_round_trip = on_round_trip
        self.round_trips = 0  # lease statements sent (gateway_postgres_round_trips_total{purpose="lease"})

    def lease(self, asks: Sequence[LeaseAsk]) -> list[LeaseAnswer]:
        """One round trip; raises psycopg errors (the caller keeps its slices and retries later)."""
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        self.round_trips += 1
        self._on_round_trip()
        try:
            rows = self._conn.execute(_CALL, (
                self.replica, self.ttl_ms, self.grace_ms, [a.scope for a in asks], [a.start_ms for a in asks],
                [a.end_ms for a in asks], [a.limit_pico for a in asks], [a.want_pico for a in asks],
                [a.need_pico for a in asks], [a.give_back_pico for a in asks])).fetchall()
        except Exception:
            conn, self._conn = self._conn, None
            try:
                conn.close()
            finally:
                raise
        return [LeaseAnswer(scope, int(start), int(granted), overdraft, int(available), int(spent), replicas,
                            fresh)  # NUMERIC money (budgets past 2^63 pUSD) back to int
                for scope, start, granted, overdraft, available, spent, replicas, fresh in rows]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def apply_schema(conn: Any) -> None:
    """The lease statements in one transaction (tests; pg-ledger's migrations own this in the gateway)."""
    with conn.transaction():
        for statement in SCHEMA:
            conn.execute(statement)
