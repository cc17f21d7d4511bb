"""The gateway as a raw ASGI app: auth, validation, routing, budget guard, fallback, metering.

Raw ASGI rather than a framework because the request path is the product's overhead: one pass
over the headers, one JSON parse of the request, one re-serialisation for the upstream, the
upstream's bytes passed back as they are. Everything slow (SQLite) happens on other threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import random
import sqlite3
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from gateway.ledger import Ledger, UsageRecord, to_ms
from llm_shared import budget as budget_maths
from llm_shared.catalog import Model
from llm_shared.complexity import estimate
from llm_shared.errors import ConfigError
from llm_shared.pricing import cost_pico, worst_case_cost_pico
from llm_shared.routing import AUTO_MODEL, GPU, SERVERLESS, RouteDecision, decide, validate_backend
from llm_shared.usage_schema import usd_string

from .auth import Authenticator
from .budget_guard import BUDGET_EXCEEDED, BudgetGuard, Reservation, budget_exceeded
from .chat_request import ChatRequest, check_context_window, parse_chat_request, upstream_body
from .config import GatewayConfig
from .env_names import LEDGER_PATH, MAX_BODY_BYTES
from .ledger_writer import DEFAULT_INTERVAL_S, LedgerWriter
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import GatewayMetrics
from .openai_errors import GatewayError, bad_request
from .sse import StreamMeter, usage_counts
from .stream_relay import relay
from .token_estimates import estimate_prompt_tokens, estimate_text_tokens, prompt_upper_bound
from .upstreams import TIMEOUT, Upstream, UpstreamFailure
from .usage_summary import summary_window, usage_summary

log = logging.getLogger("gateway")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

JSON = b"application/json"
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache"),
                (b"x-accel-buffering", b"no")]
LARGE_PROMPT_BYTES = 32_768
READY_CACHE_S = 2.0
_WANTED_HEADERS = frozenset({b"authorization", b"content-length", b"x-cost-priority", b"x-force-backend",
                             b"x-session-id"})


_INTERNAL_ERROR = GatewayError(500, "internal error in the gateway; the request was not completed",
                               type_="server_error", code="internal_error").body()


class _ClientGone(Exception):
    """The client disconnected before its request body arrived."""


class GatewayApp:
    """ASGI entry point; `startup`/`shutdown` run from the lifespan protocol."""

    def __init__(self, config: GatewayConfig, *, rng: Callable[[], float] | None = None,
                 clock: Callable[[], datetime] | None = None,
                 ledger_interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.config = config
        self.catalog = config.catalog
        # With a model map, the GPU host serves exactly the mapped models; without one, every model.
        self.gpu_models = frozenset(config.gpu_model_map) or None
        self.auth = Authenticator(config.client_tokens, config.admin_token)
        self.metrics = GatewayMetrics()
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
        self.ledger: Ledger | None = None
        self.writer: LedgerWriter | None = None
        self.guard: BudgetGuard | None = None
        self._ready: tuple[float, int, bytes] | None = None
        self._id_prefix = f"gw-{os.urandom(5).hex()}-"
        self._ids = itertools.count(1)
        models = [{"id": m.id, "object": "model", "created": 0, "owned_by": "llm-cost-governance",
                   "display_name": m.display_name, "tier": m.tier, "context_window": m.context_window,
                   "input_usd_per_million": str(m.input_usd_per_million),
                   "output_usd_per_million": str(m.output_usd_per_million)} for m in self.catalog]
        models.insert(0, {"id": AUTO_MODEL, "object": "model", "created": 0,
                          "owned_by": "llm-cost-governance"})
        self._models_body = orjson.dumps({"object": "list", "data": models})
        self._routes = {
            ("POST", "/v1/chat/completions"): self._chat,
            ("GET", "/v1/models"): self._models,
            ("GET", "/healthz"): self._healthz,
            ("GET", "/readyz"): self._readyz,
            ("GET", "/metrics"): self._metrics,
            ("GET", "/v1/usage/summary"): self._usage_summary,
        }

    # lifecycle ---------------------------------------------------------------------------------

    async def startup(self) -> None:
        try:
            Path(self.config.ledger_path).parent.mkdir(parents=True, exist_ok=True)
            self.ledger = Ledger(self.config.ledger_path)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"{LEDGER_PATH}: cannot open the ledger at {self.config.ledger_path} "
                              f"({exc})") from None
        self.writer = LedgerWriter(self.ledger, self._ledger_interval_s)
        self.writer.start()
        self.guard = BudgetGuard(self.config.budgets, self.config.thresholds, self.config.time_zone,
                                 self.ledger.spend_pico, self.clock)
        for upstream in self.upstreams.values():
            await upstream.start()
        log.info("gateway ready: serverless=%s gpu=%s ledger=%s", self.upstreams[SERVERLESS].base_url,
                 self.upstreams[GPU].base_url, self.config.ledger_path)

    async def shutdown(self) -> None:
        for upstream in self.upstreams.values():
            await upstream.close()
        if self.writer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.writer.stop)
        if self.ledger is not None:
            self.ledger.close()

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
                if any(path == scope["path"] for _, path in self._routes):
                    raise GatewayError(405, f"method {scope['method']} is not allowed on {scope['path']}",
                                       code="method_not_allowed")
                raise GatewayError(404, f"no such endpoint: {scope['path']}", code="not_found")
            headers = {k: v for k, v in scope["headers"] if k in _WANTED_HEADERS}
            await handler(scope, receive, send, headers)
        except GatewayError as exc:
            if exc.status != 429:
                self.metrics.rejected.labels(str(exc.status)).inc()
            await _respond(send, exc.status, exc.body())
        except _ClientGone:
            return
        except Exception:
            log.exception("unexpected error on %s %s", scope["method"], scope["path"])
            self.metrics.rejected.labels("500").inc()
            with contextlib.suppress(RuntimeError):  # the response may have started already
                await _respond(send, 500, _INTERNAL_ERROR)

    # small endpoints -----------------------------------------------------------------------------

    async def _healthz(self, scope: Scope, receive: Receive, send: Send, headers: dict) -> None:
        await _respond(send, 200, b'{"status":"ok"}')

    async def _readyz(self, scope: Scope, receive: Receive, send: Send, headers: dict) -> None:
        # Unauthenticated, so cached briefly: probes cannot turn into a flood of upstream calls.
        now = time.monotonic()
        if self._ready is None or now - self._ready[0] > READY_CACHE_S:
            names = list(self.upstreams)
            results = await asyncio.gather(*(self.upstreams[n].ping() for n in names))
            ready = any(results)
            body = orjson.dumps({"status": "ready" if ready else "unavailable",
                                 "backends": dict(zip(names, results, strict=True))})
            self._ready = (time.monotonic(), 200 if ready else 503, body)
        _, status, body = self._ready
        await _respond(send, status, body)

    async def _models(self, scope: Scope, receive: Receive, send: Send, headers: dict) -> None:
        self.auth.role(headers.get(b"authorization"))
        await _respond(send, 200, self._models_body)

    async def _metrics(self, scope: Scope, receive: Receive, send: Send, headers: dict) -> None:
        assert self.guard is not None and self.writer is not None
        body = self.metrics.render(self.guard.used_ratio(), self.writer.pending, self.writer.dropped_records)
        await _respond(send, 200, body, METRICS_CONTENT_TYPE)

    async def _usage_summary(self, scope: Scope, receive: Receive, send: Send, headers: dict) -> None:
        self.auth.require_admin(headers.get(b"authorization"))
        assert self.ledger is not None and self.writer is not None
        now = self.clock()
        name, start, end = summary_window(scope.get("query_string", b""), now, self.config.time_zone)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.writer.flush)
        payload = await loop.run_in_executor(None, usage_summary, self.ledger, name, start, end,
                                             self.config.time_zone, now)
        await _respond(send, 200, orjson.dumps(payload))

    # chat ----------------------------------------------------------------------------------------

    async def _read_body(self, receive: Receive, headers: dict) -> bytes:
        limit = self.config.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(int(declared), limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _too_large(size, limit)
            chunks.append(chunk)
            if not message.get("more_body"):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def _route(self, request: ChatRequest, headers: dict,
                     prompt_bound: int) -> tuple[RouteDecision, Model, bool]:
        assert self.guard is not None
        forced_raw = headers.get(b"x-force-backend")
        try:
            forced = (validate_backend(forced_raw.decode("latin-1").strip()) if forced_raw
                      else self.config.force_backend)
        except ConfigError as exc:
            raise bad_request(f"x-force-backend: {exc}", "x-force-backend", "invalid_value") from None
        status = self.guard.status()
        if status == budget_maths.EXCEEDED:
            raise budget_exceeded()
        model_arg = request.model
        downgraded = False
        if model_arg == AUTO_MODEL and status == budget_maths.WARNING:
            model_arg, downgraded = self.catalog.cheapest().id, True
            self.metrics.downgrades.inc()
        complexity = None
        if prompt_bound > LARGE_PROMPT_BYTES:
            # The estimate is regex work over all the text (about 0.2 s per MB). In a thread the GIL
            # is handed back every few ms, so other requests keep flowing meanwhile.
            complexity = await asyncio.get_running_loop().run_in_executor(None, estimate, request.messages)
        decision = decide(request.messages, rng=self.rng, model=model_arg,
                          cost_priority=request.cost_priority, force_backend=forced,
                          serverless_ratio=self.config.serverless_ratio, catalog=self.catalog,
                          complexity=complexity, gpu_models=self.gpu_models)
        model = self.catalog.get(decision.model)
        if request.model == AUTO_MODEL:
            check_context_window(request, model)
        return decision, model, downgraded

    async def _chat(self, scope: Scope, receive: Receive, send: Send, headers: dict) -> None:
        self.auth.role(headers.get(b"authorization"))
        raw = await self._read_body(receive, headers)
        priority = headers.get(b"x-cost-priority")
        request = parse_chat_request(raw, self.catalog,
                                     priority.decode("latin-1").strip() if priority else None)
        assert self.guard is not None
        try:
            tools = [request.body[k] for k in ("tools", "functions") if request.body.get(k)]
            prompt_bound = prompt_upper_bound(request.messages, tools)
            decision, model, downgraded = await self._route(request, headers, prompt_bound)
            completion_cap = (request.max_tokens or model.context_window) * request.n
            worst = worst_case_cost_pico(model, prompt_bound, completion_cap)
            reservation = self.guard.reserve(worst)
        except GatewayError as exc:
            if exc.code == BUDGET_EXCEEDED:
                self.metrics.refusals.inc()
            raise
        session = headers.get(b"x-session-id")
        call = _Call(request_id=f"{self._id_prefix}{next(self._ids)}", ts_ms=to_ms(self.clock()),
                     started=time.perf_counter(), request=request, decision=decision, model=model,
                     reservation=reservation, downgraded=downgraded,
                     session_id=session.decode("latin-1")[:200] if session else None)
        try:
            if request.stream:
                await self._stream(call, receive, send)
            else:
                await self._complete(call, send)
        finally:
            if not reservation.settled:  # an unexpected error: release the hold, count nothing
                self.guard.settle(reservation, 0)

    def _finish(self, call: _Call, backend: str, prompt: int, completion: int, status: str,
                estimated: bool) -> int:
        """Settle the reservation, queue the ledger row, update metrics; returns the cost."""
        assert self.guard is not None and self.writer is not None
        cost = cost_pico(call.model, prompt, completion)
        self.guard.settle(call.reservation, cost)
        record = UsageRecord(
            request_id=call.request_id, ts_ms=call.ts_ms, model=call.model.id, backend=backend,
            prompt_tokens=prompt, completion_tokens=completion, cost_pico=cost,
            latency_ms=(time.perf_counter() - call.started) * 1000, status=status, estimated=estimated,
            user_id=call.request.user, session_id=call.session_id, complexity=call.decision.complexity)
        self.writer.submit(record)
        self.metrics.observe(record)
        return cost

    def _both_failed(self, call: _Call, failures: list[UpstreamFailure]) -> GatewayError:
        self._finish(call, call.decision.backend, 0, 0, "error", False)
        detail = "; ".join(str(f) for f in failures)
        if all(f.kind == TIMEOUT for f in failures):
            return GatewayError(504, f"both backends timed out ({detail})", type_="server_error",
                                code="upstream_timeout")
        return GatewayError(502, f"both backends failed ({detail})", type_="server_error",
                            code="upstream_error")

    def _response_headers(self, call: _Call, backend: str, content_type: bytes) -> list[tuple[bytes, bytes]]:
        headers = [(b"content-type", content_type), (b"x-backend", backend.encode()),
                   (b"x-model", call.model.id.encode()), (b"x-request-id", call.request_id.encode())]
        if backend != call.decision.backend:
            headers.append((b"x-fallback-from", call.decision.backend.encode()))
        if call.downgraded:
            headers.append((b"x-budget-downgraded", b"true"))
        return headers

    async def _complete(self, call: _Call, send: Send) -> None:
        failures: list[UpstreamFailure] = []
        for backend in call.decision.attempts:
            upstream = self.upstreams[backend]
            try:
                status, payload, content_type = await upstream.complete(
                    upstream_body(call.request, upstream.model_name(call.model.id)))
                body = orjson.loads(payload) if status == 200 else None
                if status == 200 and not isinstance(body, dict):
                    raise UpstreamFailure(backend, "bad_response", "200 without a JSON object")
            except orjson.JSONDecodeError:
                failures.append(UpstreamFailure(backend, "bad_response", "200 with a body that is not JSON"))
            except UpstreamFailure as failure:
                failures.append(failure)
            else:
                break
            self.metrics.fallbacks.labels(backend, failures[-1].kind).inc()
            log.warning("upstream failed: %s", failures[-1])
        else:
            raise self._both_failed(call, failures)

        headers = self._response_headers(call, backend, content_type.encode("latin-1"))
        if status != 200:  # a 4xx from the backend: the request itself was refused; pass it on
            self._finish(call, backend, 0, 0, "error", False)
            await _respond_raw(send, status, payload, headers)
            return
        usage = body.get("usage") if body else None
        counts = usage_counts(usage)
        if counts is None:
            prompt = estimate_prompt_tokens(call.request.messages)
            choices = body.get("choices")
            completion = sum(estimate_text_tokens(_message_text(c))
                             for c in (choices if isinstance(choices, list) else ()))
            counts, estimated = (prompt, completion), True
        else:
            estimated = False
        cost = self._finish(call, backend, counts[0], counts[1], "ok", estimated)
        headers.append((b"x-cost-usd", usd_string(cost).encode()))
        if estimated:
            headers.append((b"x-usage-estimated", b"true"))
        await _respond_raw(send, 200, payload, headers)

    async def _stream(self, call: _Call, receive: Receive, send: Send) -> None:
        failures: list[UpstreamFailure] = []
        for backend in call.decision.attempts:
            upstream = self.upstreams[backend]
            try:
                response = await upstream.open_stream(upstream_body(call.request,
                                                                    upstream.model_name(call.model.id)))
            except UpstreamFailure as failure:
                failures.append(failure)
                self.metrics.fallbacks.labels(backend, failure.kind).inc()
                log.warning("upstream failed: %s", failure)
                continue
            break
        else:
            raise self._both_failed(call, failures)

        if response.status != 200:
            payload = await response.read()
            response.release()
            self._finish(call, backend, 0, 0, "error", False)
            content_type = response.headers.get("Content-Type", "application/json").encode("latin-1")
            await _respond_raw(send, response.status, payload,
                               self._response_headers(call, backend, content_type))
            return

        meter = StreamMeter(forward_usage_chunk=call.request.client_wants_usage)
        headers = self._response_headers(call, backend, b"text/event-stream")
        headers += _SSE_HEADERS[1:]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

        recorded = False

        def record(complete: bool) -> int:
            nonlocal recorded
            recorded = True
            if complete and meter.usage is not None:
                return self._finish(call, backend, meter.usage[0], meter.usage[1], "ok", False)
            prompt = meter.usage[0] if meter.usage else estimate_prompt_tokens(call.request.messages)
            return self._finish(call, backend, prompt, meter.estimated_completion_tokens(),
                                "ok" if complete else "partial", True)

        def on_complete() -> bytes:
            # An SSE comment (ignored by SDKs): a stream's cost is only known at its end.
            return b": x-cost-usd=%s\n\n" % usd_string(record(complete=True)).encode()

        complete = False
        try:
            complete = await relay(response.content.iter_any(), meter, send, receive, on_complete)
        finally:
            if complete:
                response.release()
            else:
                response.close()  # never reuse a half-read connection
            if not recorded:
                record(complete=False)


class _Call:
    """One admitted chat request on its way through the upstreams."""

    __slots__ = ("decision", "downgraded", "model", "request", "request_id", "reservation", "session_id",
                 "started", "ts_ms")

    def __init__(self, *, request_id: str, ts_ms: int, started: float, request: ChatRequest,
                 decision: RouteDecision, model: Model, reservation: Reservation, downgraded: bool,
                 session_id: str | None) -> None:
        self.request_id = request_id
        self.ts_ms = ts_ms
        self.started = started
        self.request = request
        self.decision = decision
        self.model = model
        self.reservation = reservation
        self.downgraded = downgraded
        self.session_id = session_id


def _message_text(choice: Any) -> str:
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""


def _too_large(size: int, limit: int) -> GatewayError:
    return GatewayError(413, f"request body of {size} bytes is over the limit of {limit} bytes "
                             f"({MAX_BODY_BYTES})", code="body_too_large")


async def _respond(send: Send, status: int, body: bytes, content_type: bytes = JSON) -> None:
    await _respond_raw(send, status, body, [(b"content-type", content_type)])


async def _respond_raw(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
