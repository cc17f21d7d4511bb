"""A thin, typed client of the gateway's HTTP API for the operator tools.

The gateway is authoritative for everything: routing, prices, budgets and the ledger. This
client only turns its answers into typed values and its refusals into typed errors whose
messages are safe to show a model or a terminal (tokens are redacted from anything echoed).
Chat calls are never retried here: a retried completion could be billed twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from llm_shared.money import usd_to_pico
from llm_shared.redaction import redact
from llm_shared.usage_schema import UsageSummary, UsageSummaryError, parse_summary

from .settings import OpsSettings

DEFAULT_TIMEOUT = (3.05, 120.0)  # (connect, read) seconds; a completion may take a while
_SNIPPET = 300


class GatewayCallError(Exception):
    """A gateway call that did not succeed; `str()` is safe to show (no token in it)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class GatewayUnavailable(GatewayCallError):
    """The gateway cannot be reached, timed out, or failed (5xx, e.g. both backends down)."""


class AuthRejected(GatewayCallError):
    """401/403: the token is missing, unknown, or lacks the role the endpoint needs."""


class BudgetExceeded(GatewayCallError):
    """429 budget_exceeded: the daily or monthly budget is used up; nothing was sent upstream."""


class RequestRejected(GatewayCallError):
    """Another 4xx: the request itself is wrong (unknown model, bad field); the message says which."""


class AdminTokenMissing(GatewayCallError):
    """An admin endpoint was asked for without an admin token configured."""


@dataclass(frozen=True, slots=True)
class Completion:
    """One chat completion as the gateway served and billed it (cost from its x-cost-usd header)."""

    text: str
    model: str
    backend: str
    request_id: str
    prompt_tokens: int
    completion_tokens: int
    cost_pico: int
    cost_usd: str
    latency_ms: float
    usage_estimated: bool
    budget_downgraded: bool
    fallback_from: str | None


class GatewayClient:
    """Calls the gateway as a client (chat, route explain, models) and, with an admin token, as admin."""

    def __init__(self, base_url: str, token: str, admin_token: str | None = None, *,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._admin_token = admin_token
        self.timeout = timeout
        self._session = requests.Session()

    @classmethod
    def from_settings(cls, settings: OpsSettings, **kwargs: Any) -> GatewayClient:
        return cls(settings.gateway_url, settings.token, settings.admin_token, **kwargs)

    def __repr__(self) -> str:
        return f"GatewayClient(base_url={self.base_url!r}, admin={self.has_admin})"

    @property
    def has_admin(self) -> bool:
        return bool(self._admin_token)

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # client endpoints ---------------------------------------------------------------------------

    def chat(self, messages: Sequence[Mapping[str, Any]], *, model: str | None = None,
             cost_priority: str | None = None, max_tokens: int | None = None) -> Completion:
        """POST /v1/chat/completions (model `auto` unless given); raises a GatewayCallError subclass."""
        response = self._call("POST", "/v1/chat/completions", self._token,
                              _chat_body(messages, model, max_tokens), cost_priority)
        body = _json(response, "chat completion")
        raw_usage = body.get("usage")
        usage: dict[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
        cost_text = response.headers.get("x-cost-usd", "")
        try:
            cost_pico = usd_to_pico(cost_text, name="x-cost-usd")
        except ValueError:
            raise GatewayUnavailable(f"the gateway's answer has no valid x-cost-usd header ({cost_text!r})",
                                     response.status_code) from None
        return Completion(
            text=_first_message(body), model=response.headers.get("x-model", str(body.get("model", ""))),
            backend=response.headers.get("x-backend", ""),
            request_id=response.headers.get("x-request-id", ""),
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cost_pico=cost_pico, cost_usd=cost_text, latency_ms=response.elapsed.total_seconds() * 1000,
            usage_estimated=response.headers.get("x-usage-estimated") == "true",
            budget_downgraded=response.headers.get("x-budget-downgraded") == "true",
            fallback_from=response.headers.get("x-fallback-from"))

    def explain_route(self, messages: Sequence[Mapping[str, Any]], *, model: str | None = None,
                      cost_priority: str | None = None, max_tokens: int | None = None) -> dict[str, Any]:
        """POST /v1/route/explain: the decision the gateway would make, without calling an upstream."""
        response = self._call("POST", "/v1/route/explain", self._token,
                              _chat_body(messages, model, max_tokens), cost_priority)
        return _json(response, "route explanation")

    def models(self) -> list[dict[str, Any]]:
        data = _json(self._call("GET", "/v1/models", self._token), "model list").get("data")
        return data if isinstance(data, list) else []

    # admin endpoints ----------------------------------------------------------------------------

    def budget(self) -> dict[str, Any]:
        """GET /v1/usage/budget: the guard's spend, reservations and status per period."""
        return _json(self._call("GET", "/v1/usage/budget", self._admin()), "budget status")

    def usage_summary(self, period: str) -> UsageSummary:
        """GET /v1/usage/summary?period=day|month, validated by the shared contract."""
        response = self._call("GET", "/v1/usage/summary", self._admin(), params={"period": period})
        try:
            return parse_summary(_json(response, "usage summary"), expect_period=period)
        except UsageSummaryError as exc:
            raise GatewayUnavailable(f"the gateway's usage summary is malformed: {exc}") from None

    # plumbing -----------------------------------------------------------------------------------

    def _admin(self) -> str:
        if not self._admin_token:
            raise AdminTokenMissing("this needs the gateway's admin token (GATEWAY_ADMIN_TOKEN_FILE)")
        return self._admin_token

    def _clean(self, text: str) -> str:
        return redact(text, self._token, self._admin_token)

    def _call(self, method: str, path: str, token: str, body: dict[str, Any] | None = None,
              cost_priority: str | None = None, params: dict[str, str] | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if cost_priority:
            headers["x-cost-priority"] = cost_priority
        try:
            response = self._session.request(method, f"{self.base_url}{path}", json=body, params=params,
                                             headers=headers, timeout=self.timeout)
        except requests.Timeout:
            raise GatewayUnavailable(f"the gateway at {self.base_url} did not answer {path} within "
                                     f"{self.timeout[1]:g} s") from None
        except requests.RequestException as exc:
            raise GatewayUnavailable(f"the gateway at {self.base_url} is unreachable "
                                     f"({type(exc).__name__})") from None
        if response.status_code >= 400:
            raise self._error(response, path)
        return response

    def _error(self, response: requests.Response, path: str) -> GatewayCallError:
        status = response.status_code
        try:
            error = response.json().get("error") or {}
            message, code = str(error.get("message") or ""), error.get("code")
        except (ValueError, AttributeError):
            message, code = response.text[:_SNIPPET], None
        text = self._clean(f"gateway {path}: HTTP {status}: {message or 'no detail'}")
        if status in (401, 403):
            return AuthRejected(text, status, code)
        if status == 429 and code == "budget_exceeded":
            return BudgetExceeded(text, status, code)
        if status >= 500 or status in (408, 429):
            return GatewayUnavailable(text, status, code)
        return RequestRejected(text, status, code)


def _chat_body(messages: Sequence[Mapping[str, Any]], model: str | None,
               max_tokens: int | None) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model or "auto", "messages": [dict(m) for m in messages]}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    return body


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        raise GatewayUnavailable(f"the gateway's {what} is not JSON", response.status_code) from None
    if not isinstance(payload, dict):
        raise GatewayUnavailable(f"the gateway's {what} is not a JSON object", response.status_code)
    return payload


def _first_message(body: Mapping[str, Any]) -> str:
    choices = body.get("choices")
    first = choices[0] if isinstance(choices, list) and choices else {}
    message = first.get("message") if isinstance(first, dict) else None
    content = message.get("content") if isinstance(message, dict) else None
    return content if isinstance(content, str) else ""
