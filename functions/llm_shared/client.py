"""OpenAI-compatible chat client for the serverless pay-per-token API (sync, `requests`).

Used by the cost tracker's CLI and any sync caller; the gateway has its own async path. The
provider is configuration (base URL, key, catalog) - nothing depends on one vendor's endpoint.
Every error message passes through `redact`, so the API key never reaches a log or traceback.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from .errors import LLMSharedError
from .http import DEFAULT_TIMEOUT, build_session
from .redaction import redact
from .urls import secret_url_problem


class ChatClientError(LLMSharedError):
    """Base of the client's typed errors; `status` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AuthError(ChatClientError):
    """401/403: the key is missing, wrong or lacks access."""


class RateLimitError(ChatClientError):
    """429 after every retry."""


class BadRequestError(ChatClientError):
    """Another 4xx: the request itself is wrong; retrying cannot help."""


class UpstreamUnavailable(ChatClientError):
    """Connection failure, timeout or 5xx after every retry."""


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class ChatResult:
    completion: dict[str, Any]
    usage: Usage
    model: str
    latency_ms: float


def parse_usage(body: Mapping[str, Any]) -> Usage:
    """Token usage from an OpenAI-style body; raises if absent or malformed."""
    usage = body.get("usage")
    if not isinstance(usage, Mapping):
        raise BadRequestError("upstream response has no usage block")
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    for name, value in (("prompt_tokens", prompt), ("completion_tokens", completion)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise BadRequestError(f"upstream usage.{name} is not a count: {value!r}")
    return Usage(prompt, completion)  # type: ignore[arg-type]


class ChatClient:
    """POST /chat/completions with pooling, timeouts, retries and typed, key-free errors."""

    def __init__(self, base_url: str, api_key: str, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 attempts: int = 3, backoff: float = 0.5, max_retry_after: float = 20.0) -> None:
        problem = secret_url_problem(base_url)  # the API key goes on every request
        if problem:
            raise ValueError(f"base_url: {problem}")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self._session = build_session(attempts, backoff, max_retry_after=max_retry_after)

    def __repr__(self) -> str:
        return f"ChatClient(base_url={self.base_url!r}, api_key='***')"

    def close(self) -> None:
        self._session.close()

    def chat(self, messages: Sequence[Mapping[str, Any]], model: str, **params: Any) -> ChatResult:
        """One chat completion; returns the body and its token usage."""
        payload = {"model": model, "messages": list(messages), **params}
        headers = {"Authorization": f"Bearer {self._api_key}"}
        started = time.perf_counter()
        try:
            response = self._session.post(f"{self.base_url}/chat/completions", json=payload,
                                          headers=headers, timeout=self.timeout)
        except requests.exceptions.RetryError as exc:
            raise UpstreamUnavailable(self._clean(f"upstream failed after retries: {exc}")) from None
        except requests.exceptions.Timeout as exc:
            raise UpstreamUnavailable(self._clean(f"upstream timed out: {exc}")) from None
        except requests.exceptions.ConnectionError as exc:
            raise UpstreamUnavailable(self._clean(f"cannot reach upstream: {exc}")) from None
        latency_ms = (time.perf_counter() - started) * 1000
        if response.status_code >= 400:
            raise self._error_for(response)
        try:
            body = response.json()
        except ValueError:
            raise UpstreamUnavailable("upstream returned a body that is not JSON",
                                      response.status_code) from None
        return ChatResult(body, parse_usage(body), str(body.get("model", model)), latency_ms)

    def _clean(self, text: str) -> str:
        return redact(text, self._api_key)

    def _error_for(self, response: requests.Response) -> ChatClientError:
        status = response.status_code
        try:
            detail = response.json().get("error", {}).get("message") or response.text[:200]
        except (ValueError, AttributeError):
            detail = response.text[:200]
        message = self._clean(f"upstream returned {status}: {detail}")
        if status in (401, 403):
            return AuthError(message, status)
        if status == 429:
            return RateLimitError(message, status)
        if status == 408 or status >= 500:
            return UpstreamUnavailable(message, status)
        return BadRequestError(message, status)
