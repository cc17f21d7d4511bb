"""GET /v1/usage/summary: the ledger's per-model/backend and per-key figures for a calendar period.

The payload is `llm_shared.usage_schema.build_summary`, so the cost tracker's `parse_summary`
reads exactly what is written here. `period=day|month` uses the calendar bounds of
`llm_shared.periods` in the configured time zone; explicit `start`/`end` give a custom window.
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from gateway.ledger_store import LedgerStore
from llm_shared.periods import PERIODS, period
from llm_shared.usage_schema import build_summary

from .asgi import Handler, HttpRequest, respond_json
from .openai_errors import bad_request

if TYPE_CHECKING:
    from .app import GatewayApp

MAX_CUSTOM_DAYS = 366
_PLUS_DECODED_AS_SPACE = re.compile(r" (\d\d:?\d\d)$")


def _moment(raw: str, name: str) -> datetime:
    raw = _PLUS_DECODED_AS_SPACE.sub(r"+\1", raw)  # an unencoded '+' offset arrives as a space
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise bad_request(f"{name} must be an ISO 8601 timestamp with an offset, e.g. "
                          f"2026-01-01T00:00:00+00:00, got {raw!r}", name, "invalid_value") from None
    if moment.tzinfo is None:
        raise bad_request(f"{name} needs a UTC offset (e.g. +00:00 or Z), got {raw!r}", name, "invalid_value")
    return moment


def summary_window(query_string: bytes, now: datetime, time_zone: str) -> tuple[str, datetime, datetime]:
    """(period name, start, end) from the query: period=day|month, or start and end."""
    try:
        query = parse_qs(query_string.decode("latin-1"), strict_parsing=False)
    except ValueError:
        raise bad_request("the query string cannot be parsed", None, "invalid_value") from None
    unknown = sorted(set(query) - {"period", "start", "end"})
    if unknown:
        raise bad_request(f"unknown query parameter(s): {', '.join(unknown)}; use period, or start and end",
                          unknown[0], "invalid_value")
    if "start" in query or "end" in query:
        if "period" in query:
            raise bad_request("give either period or start and end, not both", "period", "invalid_value")
        if "start" not in query or "end" not in query:
            missing = "end" if "start" in query else "start"
            raise bad_request(f"{missing} is required together with {'start' if missing == 'end' else 'end'}",
                              missing, "missing_field")
        start, end = _moment(query["start"][-1], "start"), _moment(query["end"][-1], "end")
        if end <= start:
            raise bad_request("end must be after start", "end", "invalid_value")
        if (end - start).days > MAX_CUSTOM_DAYS:
            raise bad_request(f"the window may span at most {MAX_CUSTOM_DAYS} days", "end", "invalid_value")
        return "custom", start, end
    name = query.get("period", ["day"])[-1]
    if name not in PERIODS:
        raise bad_request(f"period must be one of {', '.join(PERIODS)}, got {name!r}", "period",
                          "invalid_value")
    bounds = period(name, now, time_zone)
    return name, bounds.start, bounds.end


def usage_summary(ledger: LedgerStore, name: str, start: datetime, end: datetime, time_zone: str,
                  now: datetime) -> dict:
    """The contract payload for [start, end) (runs SQL: call it off the event loop), read from one
    snapshot so the per-key rows add up to the totals."""
    with ledger.snapshot():
        rows, key_rows = ledger.summary_rows(start, end), ledger.key_rows(start, end)
        users = ledger.unique_users(start, end)
    return build_summary(period=name, start=start, end=end, time_zone=time_zone, generated_at=now,
                         rows=rows, unique_users_total=users, key_rows=key_rows)


def endpoint(app: GatewayApp) -> Handler:
    async def handle(request: HttpRequest) -> None:
        app.auth.require_admin(request.headers.get(b"authorization"))
        now = app.clock()
        name, start, end = summary_window(request.query_string, now, app.config.time_zone)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, app.writer.flush)
        payload = await loop.run_in_executor(None, usage_summary, app.ledger, name, start, end,
                                             app.config.time_zone, now)
        await respond_json(request.send, 200, payload)

    return handle
