"""Read the gateway's usage summary for one calendar period and validate it strictly.

Anything short of a well-formed payload for exactly the period asked raises UsageReadError: a
cost guard that pushed zero (or half a day) on a bad read would tell the alarms all is well.
Transient failures (connection errors, 408/429/5xx) are retried by the shared session first.
"""

from __future__ import annotations

from typing import Any

from llm_shared.periods import Period
from llm_shared.usage_schema import UsageSummary, UsageSummaryError, parse_summary

SUMMARY_PATH = "/v1/usage/summary"
# (connect, read) seconds. The gateway aggregates a month of ledger rows in SQL per request (about
# 6 s for 1M rows on a 2-core host, see docs/cost-tracker.md); two reads must fit a 60 s Lambda.
DEFAULT_TIMEOUT = (3.05, 20.0)
_SNIPPET = 200


class UsageReadError(RuntimeError):
    """The usage summary could not be read or failed validation; the message says why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def timed_out(exc: BaseException) -> bool:
    """True for a timeout, also when urllib3's retry wrapper made it a ConnectionError."""
    import requests
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError, ReadTimeoutError

    if isinstance(exc, requests.Timeout):
        return True
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    # urllib3 makes "connection refused" a ConnectTimeoutError subclass: that one is not a timeout.
    return isinstance(reason, ReadTimeoutError | ConnectTimeoutError) and not isinstance(
        reason, NewConnectionError)


def get_json(session: Any, base_url: str, path: str, params: dict[str, Any], token: str, where: str, *,
             timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> Any:
    """GET an admin endpoint and return its JSON body; every failure is a UsageReadError naming `where`."""
    import requests  # deferred with the session that needs it

    from llm_shared.redaction import redact

    try:
        response = session.get(f"{base_url}{path}", params=params, timeout=timeout,
                               headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    except requests.RequestException as exc:
        if timed_out(exc):
            raise UsageReadError(f"{where}: timed out after {timeout[1]} s") from None
        raise UsageReadError(f"{where}: unreachable at {base_url} ({type(exc).__name__})") from None
    if response.status_code != 200:
        body = redact(response.text, token)[:_SNIPPET]
        hint = " (the gateway rejected the admin token)" if response.status_code in (401, 403) else ""
        raise UsageReadError(f"{where}: HTTP {response.status_code}{hint}: {body}", response.status_code)
    try:
        return response.json()
    except ValueError:
        body = redact(response.text, token)[:_SNIPPET]
        raise UsageReadError(f"{where}: response is not JSON: {body!r}") from None


def fetch_summary(session: Any, base_url: str, token: str, period: Period, *,
                  timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> UsageSummary:
    """GET the summary for `period` (its name and UTC bounds) and return it validated."""
    where = f"gateway usage summary {SUMMARY_PATH}?period={period.name}"
    payload = get_json(session, base_url, SUMMARY_PATH, {"period": period.name}, token, where,
                       timeout=timeout)
    try:
        return parse_summary(payload, expect_period=period.name, expect_start=period.start,
                             expect_end=period.end)
    except UsageSummaryError as exc:
        raise UsageReadError(f"{where}: {exc}") from None
