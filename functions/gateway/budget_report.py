"""GET /v1/usage/budget (admin): today's and this month's spend against the budgets, from the guard.

The figures are the in-memory guard's own (settled spend plus in-flight reservations), so an
operator sees exactly what admission sees: `status` is the status the next request is judged by.
Amounts are exact (picodollar integers beside canonical USD strings).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from llm_shared import budget as budget_maths
from llm_shared.budget import Thresholds
from llm_shared.usage_schema import usd_string

from .asgi import Handler, HttpRequest, respond_json
from .budget_guard import KeyState, WindowState

if TYPE_CHECKING:
    from .app import GatewayApp

_ORDER = (budget_maths.OK, budget_maths.WARNING, budget_maths.EXCEEDED)


def _window(window: WindowState) -> dict[str, Any]:
    committed = window.committed_pico
    percent = budget_maths.percent_used(committed, window.budget_pico).quantize(Decimal("0.01"))
    return {
        "period": window.period.name,
        "start": window.period.start.isoformat(),
        "end": window.period.end.isoformat(),
        "budget_usd": usd_string(window.budget_pico),
        "spent_usd": usd_string(window.spent_pico),
        "reserved_usd": usd_string(window.reserved_pico),
        "committed_usd": usd_string(committed),
        "remaining_usd": usd_string(max(window.budget_pico - committed, 0)),
        "percent_used": str(percent),
        "status": window.status,
        "spent_pico": window.spent_pico,
        "reserved_pico": window.reserved_pico,
        "budget_pico": window.budget_pico,
    }


def _key(state: KeyState) -> dict[str, Any]:
    return {"key_name": state.key_name, "status": state.status,
            "day": _window(state.day) if state.day else None,
            "month": _window(state.month) if state.month else None}


def budget_payload(windows: tuple[WindowState, WindowState], thresholds: Thresholds, time_zone: str,
                   now: datetime, keys: list[KeyState] | None = None) -> dict[str, Any]:
    """The response body: overall status (the worse of the stack's periods), one object per period,
    then `keys`: each key with a budget of its own, its status and windows (null where it has no
    budget for that period)."""
    day, month = windows
    return {
        "object": "budget.status",
        "status": max(day.status, month.status, key=_ORDER.index),
        "time_zone": time_zone,
        "generated_at": now.isoformat(),
        "warning_percent": str(thresholds.warning),
        "critical_percent": str(thresholds.critical),
        "day": _window(day),
        "month": _window(month),
        "keys": [_key(k) for k in keys or ()],
    }


def endpoint(app: GatewayApp) -> Handler:
    async def handle(http: HttpRequest) -> None:
        app.auth.require_admin(http.headers.get(b"authorization"))
        await respond_json(http.send, 200, budget_payload(app.guard.windows(), app.config.thresholds,
                                                          app.config.time_zone, app.clock(),
                                                          app.guard.key_windows()))

    return handle
