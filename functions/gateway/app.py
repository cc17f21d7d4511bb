"""The gateway as a raw ASGI app: lifecycle, dispatch over `routes.ROUTES`, errors as OpenAI JSON.

Raw ASGI rather than a framework because the request path is the product's overhead: one pass
over the headers, one JSON parse of the request, one re-serialisation for the upstream, the
upstream's bytes passed back as they are. Everything slow (SQLite) happens on other threads.
The endpoints are their own modules (chat: `chat_pipeline`); this module only wires them up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from gateway.ledger_store import LedgerStore, LedgerUnavailable, open_ledger
from llm_shared.errors import ConfigError
from llm_shared.routing import GPU, SERVERLESS

from .asgi import ClientGone, HttpRequest, Receive, Scope, Send, respond
from .auth import Authenticator
from .budget_guard import BudgetGuard
from .budget_leases_client import LeaseHolder, shared_holder
from .config import GatewayConfig
from .env_names import LEDGER_URL
from .ledger_writer import DEFAULT_INTERVAL_S, LedgerWriter
from .openai_errors import GatewayError
from .prometheus_metrics import GatewayMetrics
from .routes import ROUTES
from .upstreams import Upstream

log = logging.getLogger("gateway")
T = TypeVar("T")

# The only headers an endpoint sees (one pass over the list, no dict of everything a client sent).
_WANTED_HEADERS = frozenset({b"authorization", b"content-length", b"x-cost-priority", b"x-force-backend",
                             b"x-session-id"})
SHUTDOWN_CLEANUP_S = 2.0  # longest wait at shutdown for cancelled requests to record their rows
# The usage endpoints read the store; while Postgres is down they say so (chat is still served).
_LEDGER_DOWN = GatewayError(503, "the usage ledger store is unavailable; rows are queued, retry later",
                            type_="server_error", code="ledger_unavailable")
_INTERNAL_ERROR = GatewayError(500, "internal error in the gateway; the request was not completed",
                               type_="server_error", code="internal_error").body()


class GatewayApp:
    """ASGI entry point; `startup`/`shutdown` run from the lifespan protocol."""

    def __init__(self, config: GatewayConfig, *, rng: Callable[[], float] | None = None,
                 clock: Callable[[], datetime] | None = None,
                 ledger_interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.config = config
        self.catalog = config.catalog
        self.auth = Authenticator(config.client_keys, config.admin_token)
        self.metrics = GatewayMetrics(key.name for key in config.client_keys)
        self.replica_id = os.urandom(5).hex()  # this process among the replicas (request ids, leases)
        self.rng = rng or random.random
        self.clock = clock or (lambda: datetime.now(UTC))
        self._ledger_interval_s = ledger_interval_s
        self.upstreams = {
            SERVERLESS: Upstream(SERVERLESS, config.serverless_base_url, config.serverless_api_key,
                                 connect_timeout_s=config.upstream_connect_timeout_s,
                                 read_timeout_s=config.upstream_timeout_s),
            GPU: Upstream(GPU, config.gpu_base_url, "", config.gpu_model_map,
                          connect_timeout_s=config.upstream_connect_timeout_s,
                          read_timeout_s=config.upstream_timeout_s),
        }
        self._ledger: LedgerStore | None = None
        self._writer: LedgerWriter | None = None
        self._guard: BudgetGuard | None = None
        self._leases: LeaseHolder | None = None  # shared budget (Postgres ledger) only
        self._routes = {key: endpoint(self) for key, endpoint in ROUTES.items()}
        self._paths = frozenset(path for _, path in ROUTES)
        self._in_flight = 0  # HTTP requests in the app right now (shutdown waits for their cleanup)

    # what startup opens (endpoints read these per request) ----------------------------------------

    @property
    def ledger(self) -> LedgerStore:
        return _started(self._ledger)

    @property
    def writer(self) -> LedgerWriter:
        return _started(self._writer)

    @property
    def guard(self) -> BudgetGuard:
        return _started(self._guard)

    # lifecycle ---------------------------------------------------------------------------------

    async def startup(self) -> None:
        try:
            self._ledger = open_ledger(self.config.ledger_url)
        except (OSError, sqlite3.Error, LedgerUnavailable, ConfigError) as exc:
            # The label has no credentials; the store's own errors never carry the DSN.
            raise ConfigError(f"{LEDGER_URL}: cannot open the ledger at {self.config.ledger_label} "
                              f"({exc})") from None
        self._writer = LedgerWriter(self._ledger, self._ledger_interval_s,
                                    dead_letter_path=self.config.dead_letter_path,
                                    queue_limit=self.config.ledger_queue_limit)
        self._writer.start()
        if self._ledger.kind == "postgres":
            ledger = self._ledger
            self.metrics.postgres_round_trips.sources["ledger"] = lambda: ledger.round_trips
            # Several replicas share the budget through leased slices (ADR 0010).
            config = self.config
            holder = self._leases = shared_holder(config.ledger_url, self.replica_id, config.budget_lease_s,
                                                  config.budget_lease_margin_s, config.request_deadline_s)
            self.metrics.postgres_round_trips.sources["lease"] = lambda: holder.round_trips
        self._guard = BudgetGuard(self.config.budgets, self.config.thresholds, self.config.time_zone,
                                  self._ledger.spend_pico, self.clock, keys=self.config.client_keys,
                                  key_spend_lookup=self._ledger.spend_pico, shared=self._leases)
        for upstream in self.upstreams.values():
            await upstream.start()
        log.info("gateway ready", extra={"serverless_base_url": self.upstreams[SERVERLESS].base_url,
                                         "gpu_base_url": self.upstreams[GPU].base_url,
                                         "ledger": self.config.ledger_label,
                                         "ledger_store": self._ledger.kind})

    async def shutdown(self) -> None:
        # uvicorn cancels requests still running at the end of the grace period and starts this at
        # once; let their cleanup (which records a stream's partial row) run before the writer stops.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SHUTDOWN_CLEANUP_S
        while self._in_flight and loop.time() < deadline:
            await asyncio.sleep(0.01)
        for upstream in self.upstreams.values():
            await upstream.close()
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._writer.stop)
        if self._leases is not None:  # after the rows: what is still free goes back to the pools
            self._leases.stop()
            try:
                await asyncio.get_running_loop().run_in_executor(None, self._leases.give_back)
            except Exception as exc:  # Postgres down: the leases expire by themselves
                log.warning("budget slices not given back: %s", type(exc).__name__)
        if self._ledger is not None:
            self._ledger.close()

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    log.exception("gateway start failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # dispatch ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return
        handler = self._routes.get((scope["method"], scope["path"]))
        try:
            if handler is None:
                if scope["path"] in self._paths:
                    raise GatewayError(405, f"method {scope['method']} is not allowed on {scope['path']}",
                                       code="method_not_allowed")
                raise GatewayError(404, f"no such endpoint: {scope['path']}", code="not_found")
            headers = {k: v for k, v in scope["headers"] if k in _WANTED_HEADERS}
            self._in_flight += 1
            try:
                await handler(HttpRequest(scope, receive, send, headers))
            finally:
                self._in_flight -= 1
        except GatewayError as exc:
            if exc.status != 429:
                self.metrics.rejected.labels(str(exc.status)).inc()
            await respond(send, exc.status, exc.body(), extra_headers=list(exc.headers))
        except ClientGone:
            return
        except LedgerUnavailable as exc:
            log.warning("ledger store unavailable on %s %s: %s", scope["method"], scope["path"], exc)
            self.metrics.rejected.labels("503").inc()
            with contextlib.suppress(RuntimeError):
                await respond(send, 503, _LEDGER_DOWN.body())
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"],
                          extra={"method": scope["method"], "path": scope["path"]})
            self.metrics.rejected.labels("500").inc()
            with contextlib.suppress(RuntimeError):  # the response may have started already
                await respond(send, 500, _INTERNAL_ERROR)


def _started(part: T | None) -> T:
    if part is None:
        raise RuntimeError("the gateway is not started (its lifespan startup has not run)")
    return part
