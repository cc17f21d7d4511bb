"""GET /v1/usage/records?after=<cursor>&limit=<n>: finished ledger rows in commit order.

The payload is `llm_shared.usage_records.build_page`, so the exporter's `parse_page` reads exactly
what is written here. One row more than asked is read to know whether more follow.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from llm_shared.usage_records import DEFAULT_LIMIT, MAX_LIMIT, build_page

from .asgi import Handler, HttpRequest, respond_json
from .ledger_store import LedgerStore
from .openai_errors import bad_request

if TYPE_CHECKING:
    from .app import GatewayApp

_MAX_CURSOR = 2**63 - 1  # SQLite's INTEGER range


def _whole(query: dict[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name, [str(default)])[-1].strip()
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise bad_request(f"{name} must be a whole number in [{low}, {high}], got {raw!r}", name,
                          "invalid_value")
    return int(raw)


def records_window(query_string: bytes) -> tuple[int, int]:
    """(after, limit) from the query; after defaults to 0 (from the start)."""
    query = parse_qs(query_string.decode("latin-1"))
    unknown = sorted(set(query) - {"after", "limit"})
    if unknown:
        raise bad_request(f"unknown query parameter(s): {', '.join(unknown)}; use after and limit",
                          unknown[0], "invalid_value")
    return _whole(query, "after", 0, 0, _MAX_CURSOR), _whole(query, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)


def usage_records(ledger: LedgerStore, after: int, limit: int) -> dict[str, Any]:
    """The contract payload (runs SQL: call it off the event loop)."""
    return build_page(after=after, limit=limit, rows=ledger.records_after(after, limit + 1))


def endpoint(app: GatewayApp) -> Handler:
    async def handle(request: HttpRequest) -> None:
        app.auth.require_admin(request.headers.get(b"authorization"))
        after, limit = records_window(request.query_string)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, app.writer.flush)  # fresher; not needed for correctness
        payload = await loop.run_in_executor(None, usage_records, app.ledger, after, limit)
        await respond_json(request.send, 200, payload)

    return handle
