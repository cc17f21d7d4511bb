"""POST /v1/chat/completions: admit → route → reserve → call with fallback → settle → record.

Each step is one method below, in that order. Every admitted request ends in exactly one ledger
row (ok, partial or error) and its reservation settled, whichever way it ends; the streaming and
non-streaming paths share the fallback and differ only in how the chosen backend's answer is
relayed and metered.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from gateway.ledger import UsageRecord, to_ms
from llm_shared import budget as budget_maths
from llm_shared.catalog import Model
from llm_shared.complexity import estimate
from llm_shared.errors import ConfigError
from llm_shared.pricing import cost_pico, worst_case_cost_pico
from llm_shared.routing import AUTO_MODEL, RouteDecision, decide, validate_backend
from llm_shared.usage_schema import usd_string

from .asgi import BodyTooLarge, Handler, Headers, HttpRequest, Send, read_body, respond_with
from .budget_guard import BUDGET_EXCEEDED, Reservation, SliceExhausted
from .chat_request import ChatRequest, check_context_window, parse_chat_request, upstream_body
from .client_keys import ClientKey
from .env_names import MAX_BODY_BYTES
from .openai_errors import GatewayError, bad_request
from .sse import StreamMeter, usage_counts
from .stream_relay import relay
from .token_estimates import estimate_prompt_tokens, estimate_text_tokens, prompt_upper_bound
from .upstreams import BAD_RESPONSE, TIMEOUT, Upstream, UpstreamFailure
from .usage_clamp import completion_cap, usage_bounds

if TYPE_CHECKING:
    from .app import GatewayApp

log = logging.getLogger("gateway")

LARGE_PROMPT_BYTES = 32_768
_SSE_HEADERS = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]

T = TypeVar("T")


class _Call:
    """One admitted chat request on its way through the upstreams."""

    __slots__ = ("clamped", "decision", "downgraded", "key", "model", "request", "request_id", "reservation",
                 "session_id", "started", "ts_ms")

    def __init__(self, *, request_id: str, ts_ms: int, started: float, request: ChatRequest, key: ClientKey,
                 decision: RouteDecision, model: Model, reservation: Reservation, downgraded: bool,
                 session_id: str | None) -> None:
        self.request_id = request_id
        self.key = key
        self.ts_ms = ts_ms
        self.started = started
        self.request = request
        self.decision = decision
        self.model = model
        self.reservation = reservation
        self.downgraded = downgraded
        self.session_id = session_id
        self.clamped = False  # the backend's usage was over the request's bounds


@dataclass(frozen=True, slots=True)
class RoutePlan:
    """Where a request would go and what it would hold, before anything is reserved or sent."""

    decision: RouteDecision
    model: Model
    downgraded: bool       # an `auto` request moved to the cheapest model by a budget warning
    budget_status: str     # the guard's status now: ok, warning or exceeded (then it is refused)
    prompt_bound: int
    completion_cap: int
    worst_case_pico: int


def endpoint(app: GatewayApp) -> Handler:
    return ChatPipeline(app).handle


class ChatPipeline:
    """The chat flow of one gateway app; the guard and writer are the app's, live after startup."""

    def __init__(self, app: GatewayApp) -> None:
        self._app = app
        self._config = app.config
        self._catalog = app.catalog
        # With a model map, the GPU host serves exactly the mapped models; without one, every model.
        self._gpu_models = frozenset(app.config.gpu_model_map) or None
        self._metrics = app.metrics
        self._upstreams = app.upstreams
        # The replica's id in every request id: the shared budget's trigger matches rows to leases by it.
        self._id_prefix = f"gw-{app.replica_id}-"
        self._ids = itertools.count(1)

    async def handle(self, http: HttpRequest) -> None:
        request, key = await self.admit(http)
        try:
            plan = await self.plan(request, http.headers)
            if plan.budget_status == budget_maths.EXCEEDED:
                raise self._app.guard.refusal()
            if plan.downgraded:
                self._metrics.downgrades.inc()
            if request.model == AUTO_MODEL:
                check_context_window(request, plan.model)
            try:
                reservation = self._app.guard.reserve(plan.worst_case_pico, key)
            except SliceExhausted:  # shared budget (ADR 0010): one lease round trip, off the loop
                reservation = await self._app.guard.reserve_leasing(plan.worst_case_pico, key)
        except GatewayError as exc:
            if exc.code == BUDGET_EXCEEDED:
                self._metrics.refusals.inc()
            raise
        session = http.headers.get(b"x-session-id")
        call = _Call(request_id=f"{self._id_prefix}{next(self._ids)}", ts_ms=to_ms(self._app.clock()),
                     started=time.perf_counter(), request=request, key=key, decision=plan.decision,
                     model=plan.model, reservation=reservation, downgraded=plan.downgraded,
                     session_id=session.decode("latin-1")[:200] if session else None)
        try:
            if request.stream:
                await self._stream(call, http)
            else:
                await self._complete(call, http.send)
        finally:
            if not reservation.settled:  # an unexpected error: release the hold, count nothing
                self._app.guard.settle(reservation, 0)

    # admit → route → reserve ----------------------------------------------------------------------

    async def admit(self, http: HttpRequest) -> tuple[ChatRequest, ClientKey]:
        """A well-formed body and the client key of its token (the admin token cannot spend), or an
        OpenAI-style 4xx."""
        headers = http.headers
        key = self._app.auth.client_key(headers.get(b"authorization"))
        try:
            raw = await read_body(http.receive, self._config.max_body_bytes, headers.get(b"content-length"))
        except BodyTooLarge as exc:
            raise GatewayError(413, f"{exc} ({MAX_BODY_BYTES})", code="body_too_large") from None
        priority = headers.get(b"x-cost-priority")
        return parse_chat_request(raw, self._catalog,
                                  priority.decode("latin-1").strip() if priority else None), key

    async def plan(self, request: ChatRequest, headers: dict[bytes, bytes]) -> RoutePlan:
        """Route and price a request without side effects: what admission will judge and hold.

        Also what POST /v1/route/explain reports, so the explanation is this very decision.
        """
        forced_raw = headers.get(b"x-force-backend")
        try:
            forced = (validate_backend(forced_raw.decode("latin-1").strip()) if forced_raw
                      else self._config.force_backend)
        except ConfigError as exc:
            raise bad_request(f"x-force-backend: {exc}", "x-force-backend", "invalid_value") from None
        tools = [request.body[k] for k in ("tools", "functions") if request.body.get(k)]
        prompt_bound = prompt_upper_bound(request.messages, tools)
        status = self._app.guard.status()
        model_arg = request.model
        downgraded = model_arg == AUTO_MODEL and status == budget_maths.WARNING
        if downgraded:
            model_arg = self._catalog.cheapest().id
        complexity = None
        if prompt_bound > LARGE_PROMPT_BYTES:
            # The estimate is regex work over all the text (about 0.2 s per MB). In a thread the GIL
            # is handed back every few ms, so other requests keep flowing meanwhile.
            complexity = await asyncio.get_running_loop().run_in_executor(None, estimate, request.messages)
        decision = decide(request.messages, rng=self._app.rng, model=model_arg,
                          cost_priority=request.cost_priority, force_backend=forced,
                          serverless_ratio=self._config.serverless_ratio, catalog=self._catalog,
                          complexity=complexity, gpu_models=self._gpu_models)
        model = self._catalog.get(decision.model)
        # The reservation: every prompt token the bound allows plus the full completion cap.
        cap = completion_cap(model, request.max_tokens, request.n)
        return RoutePlan(decision=decision, model=model, downgraded=downgraded, budget_status=status,
                         prompt_bound=prompt_bound, completion_cap=cap,
                         worst_case_pico=worst_case_cost_pico(model, prompt_bound, cap))

    # call with fallback -----------------------------------------------------------------------------

    async def _with_fallback(self, call: _Call,
                             attempt: Callable[[Upstream, bytes, float], Awaitable[T]]) -> tuple[str, T]:
        """(backend, answer) of the first backend in the decision's order whose `attempt` does not
        raise UpstreamFailure; when every one does, the request is recorded as an error and fails.
        All attempts share one deadline (REQUEST_DEADLINE_SECONDS): a hang on both backends costs
        that, not two upstream timeouts. The upstream client enforces it (one timer per call, no
        asyncio.timeout scope per attempt)."""
        failures: list[UpstreamFailure] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._config.request_deadline_s
        late = f"no answer within the request deadline ({self._config.request_deadline_s:g} s)"
        for backend in call.decision.attempts:
            upstream = self._upstreams[backend]
            try:
                if loop.time() >= deadline:
                    raise UpstreamFailure(backend, TIMEOUT, f"not tried: {late}")
                try:
                    return backend, await attempt(upstream, upstream_body(
                        call.request, upstream.model_name(call.model.id)), deadline)
                except UpstreamFailure as failure:
                    if failure.deadline:
                        raise UpstreamFailure(backend, TIMEOUT, late) from None
                    raise
            except UpstreamFailure as failure:
                failures.append(failure)
                self._metrics.fallbacks.labels(backend, failure.kind).inc()
                log.warning("upstream failed: %s", failure, extra={
                    "request_id": call.request_id, "backend": backend, "kind": failure.kind,
                    "status": failure.status})
        self._finish(call, call.decision.backend, 0, 0, "error", False)
        detail = "; ".join(str(f) for f in failures)
        if all(f.kind == TIMEOUT for f in failures):
            raise GatewayError(504, f"both backends timed out ({detail})", type_="server_error",
                               code="upstream_timeout")
        raise GatewayError(502, f"both backends failed ({detail})", type_="server_error",
                           code="upstream_error")

    async def _complete(self, call: _Call, send: Send) -> None:
        backend, (status, payload, content_type, body) = await self._with_fallback(call, _complete_json)
        headers = self._response_headers(call, backend, content_type.encode("latin-1"))
        if status != 200:  # a 4xx from the backend: the request itself was refused; pass it on
            self._finish(call, backend, 0, 0, "error", False)
            await respond_with(send, status, payload, headers)
            return
        counts = usage_counts(body.get("usage"))
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
        if estimated or call.clamped:
            headers.append((b"x-usage-estimated", b"true"))
        if call.clamped:
            headers.append((b"x-usage-clamped", b"true"))
        await respond_with(send, 200, payload, headers)

    async def _stream(self, call: _Call, http: HttpRequest) -> None:
        backend, response = await self._with_fallback(call, Upstream.open_stream)
        if response.status != 200:
            try:
                payload = await response.read()
            finally:
                await response.aclose()
            self._finish(call, backend, 0, 0, "error", False)
            await respond_with(http.send, response.status, payload,
                               self._response_headers(call, backend, response.content_type.encode("latin-1")))
            return

        meter = StreamMeter(forward_usage_chunk=call.request.client_wants_usage)
        headers = self._response_headers(call, backend, b"text/event-stream") + _SSE_HEADERS
        await http.send({"type": "http.response.start", "status": 200, "headers": headers})

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

        try:
            await relay(response.chunks(), meter, http.send, http.receive, on_complete,
                        self._config.stream_stall_timeout_s)
        finally:
            if not recorded:  # first: a shutdown that cancelled this task may not wait for the close
                record(complete=False)
            await response.aclose()  # a half-read connection is closed, never reused

    def _response_headers(self, call: _Call, backend: str, content_type: bytes) -> Headers:
        headers = [(b"content-type", content_type), (b"x-backend", backend.encode()),
                   (b"x-model", call.model.id.encode()), (b"x-request-id", call.request_id.encode())]
        if backend != call.decision.backend:
            headers.append((b"x-fallback-from", call.decision.backend.encode()))
        if call.downgraded:
            headers.append((b"x-budget-downgraded", b"true"))
        return headers

    # settle → record --------------------------------------------------------------------------------

    def _finish(self, call: _Call, backend: str, prompt: int, completion: int, status: str,
                estimated: bool) -> int:
        """Settle the reservation at the real cost, then record the request; returns the cost.
        Counts over the request's bounds (a lying or broken backend) are recorded at the bound and
        the row is flagged estimated, so guard and ledger agree on a cost that fits the ledger."""
        bounded_prompt, bounded_completion, clamped = usage_bounds(
            call.model, call.request.max_tokens, call.request.n).clamp(prompt, completion)
        if clamped:
            log.warning("usage from %s clamped to the request's bounds (request %s): reported prompt=%d "
                        "completion=%d, recorded prompt=%d completion=%d", backend, call.request_id, prompt,
                        completion, bounded_prompt, bounded_completion,
                        extra={"request_id": call.request_id, "backend": backend})
            self._metrics.usage_clamped.labels(backend).inc()
            prompt, completion, estimated, call.clamped = bounded_prompt, bounded_completion, True, True
        cost = cost_pico(call.model, prompt, completion)
        self._app.guard.settle(call.reservation, cost)
        record = UsageRecord(
            request_id=call.request_id, ts_ms=call.ts_ms, model=call.model.id, backend=backend,
            prompt_tokens=prompt, completion_tokens=completion, cost_pico=cost,
            latency_ms=(time.perf_counter() - call.started) * 1000, status=status, estimated=estimated,
            user_id=call.request.user, session_id=call.session_id, complexity=call.decision.complexity,
            cost_priority=call.request.cost_priority, key_name=call.key.name)
        self._app.writer.submit(record)
        self._metrics.observe(record)
        return cost


async def _complete_json(upstream: Upstream, body: bytes, deadline: float) -> tuple[int, bytes, str, Any]:
    """A non-streaming call; a 200 must carry a JSON object (else the next backend is tried)."""
    status, payload, content_type = await upstream.complete(body, deadline)
    if status != 200:
        return status, payload, content_type, None
    try:
        parsed = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise UpstreamFailure(upstream.name, BAD_RESPONSE, "200 with a body that is not JSON") from None
    if not isinstance(parsed, dict):
        raise UpstreamFailure(upstream.name, BAD_RESPONSE, "200 without a JSON object")
    return status, payload, content_type, parsed


def _message_text(choice: Any) -> str:
    message = choice.get("message") if isinstance(choice, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""
