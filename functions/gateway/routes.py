"""The gateway's endpoints, one line each: the place a new endpoint is added.

Each endpoint lives in its own module as a factory `endpoint(app) -> handler`; the handler gets an
`asgi.HttpRequest` and answers with the `asgi.respond*` helpers or raises `GatewayError`. The factory
runs once per app, so an endpoint can precompute or cache what it needs (see probes.readyz).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import (
    budget_report,
    chat_pipeline,
    model_list,
    probes,
    prometheus_metrics,
    route_explain,
    usage_records,
    usage_summary,
)
from .asgi import Handler

if TYPE_CHECKING:
    from .app import GatewayApp

Endpoint = Callable[["GatewayApp"], Handler]

ROUTES: dict[tuple[str, str], Endpoint] = {
    ("POST", "/v1/chat/completions"): chat_pipeline.endpoint,
    ("GET", "/v1/models"): model_list.endpoint,
    ("GET", "/healthz"): probes.healthz,
    ("GET", "/readyz"): probes.readyz,
    ("GET", "/metrics"): prometheus_metrics.endpoint,
    ("GET", "/v1/usage/summary"): usage_summary.endpoint,
    ("GET", "/v1/usage/records"): usage_records.endpoint,
    ("GET", "/v1/usage/budget"): budget_report.endpoint,
    ("POST", "/v1/route/explain"): route_explain.endpoint,
}
