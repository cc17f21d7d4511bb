"""GET /v1/models: the catalog as OpenAI's model list, plus `auto` (the router picks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from llm_shared.routing import AUTO_MODEL

from .asgi import Handler, HttpRequest, respond

if TYPE_CHECKING:
    from .app import GatewayApp


def endpoint(app: GatewayApp) -> Handler:
    models = [{"id": m.id, "object": "model", "created": 0, "owned_by": "llm-cost-governance",
               "display_name": m.display_name, "tier": m.tier, "context_window": m.context_window,
               "input_usd_per_million": str(m.input_usd_per_million),
               "output_usd_per_million": str(m.output_usd_per_million)} for m in app.catalog]
    models.insert(0, {"id": AUTO_MODEL, "object": "model", "created": 0, "owned_by": "llm-cost-governance"})
    body = orjson.dumps({"object": "list", "data": models})

    async def handle(request: HttpRequest) -> None:
        app.auth.role(request.headers.get(b"authorization"))
        await respond(request.send, 200, body)

    return handle
