"""A pooled `requests` session with the project's retry policy, shared by every sync caller.

Policy: at most 3 attempts; retry connection errors and 408/429/5xx with exponential backoff
and jitter, honouring Retry-After (capped, so a hostile header cannot park a Lambda); never
retry other 4xx or read timeouts (the upstream may already have done, and billed, the work).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

if TYPE_CHECKING:
    from urllib3.response import BaseHTTPResponse

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
DEFAULT_ATTEMPTS = 3
DEFAULT_TIMEOUT = (3.05, 30.0)  # (connect, read) seconds


class CappedRetry(Retry):
    """urllib3 Retry whose Retry-After sleep is capped at `max_retry_after` seconds."""

    max_retry_after: float = 20.0

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)

    def new(self, **kw: Any) -> Self:
        retry = super().new(**kw)
        retry.max_retry_after = self.max_retry_after
        return retry


def retry_policy(attempts: int = DEFAULT_ATTEMPTS, backoff: float = 0.5,
                 max_retry_after: float = 20.0) -> CappedRetry:
    retries = max(attempts - 1, 0)
    policy = CappedRetry(
        total=retries,
        connect=retries,
        read=0,
        status=retries,
        other=0,
        allowed_methods=None,  # POST too: the statuses retried mean "not processed"
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff,
        backoff_jitter=backoff,
        backoff_max=8.0,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    policy.max_retry_after = max_retry_after
    return policy


def build_session(attempts: int = DEFAULT_ATTEMPTS, backoff: float = 0.5,
                  pool_size: int = 10, max_retry_after: float = 20.0) -> requests.Session:
    """A keep-alive session; mount once and reuse for every call to the same host."""
    session = requests.Session()
    adapter = HTTPAdapter(
        pool_connections=pool_size,
        pool_maxsize=pool_size,
        max_retries=retry_policy(attempts, backoff, max_retry_after),
    )
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
