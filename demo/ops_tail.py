"""The demo's closing lines: one MCP tool result and one plain-language answer from the ops tools.

Both go through the running gateway exactly as an operator's would: the MCP tool through the
official SDK's client (an in-memory session with `llm_ops.mcp_server`), the sentence through
`llm_ops.chat`'s parser and actions. Neither sends a prompt to a model.
"""

from __future__ import annotations

import json

QUESTION = "How much did we spend today?"


def closing_lines(gateway_url: str, client_token: str, admin_token: str) -> str:
    import anyio
    from mcp import Client

    from llm_ops.chat import act, render
    from llm_ops.client import GatewayClient
    from llm_ops.intents import parse
    from llm_ops.mcp_server import build_server

    with GatewayClient(gateway_url, client_token, admin_token) as gateway:
        async def budget_tool() -> dict:
            async with Client(build_server(gateway)) as mcp:
                result = await mcp.call_tool("budget_status", {})
                if result.is_error:
                    raise RuntimeError(" ".join(getattr(part, "text", "") for part in result.content))
                return result.structured_content

        budget = anyio.run(budget_tool)
        parsed = parse(QUESTION)
        answer = render(parsed, act(parsed, gateway))
    day = {k: budget["day"][k] for k in ("spent_usd", "reserved_usd", "budget_usd", "percent_used", "status")}
    return "\n".join([
        "MCP tool budget_status (official SDK client, in-memory session):",
        f"  {json.dumps({'status': budget['status'], 'day': day})}",
        f'Plain language: "{QUESTION}" -> {json.dumps(parsed.slots())}',
        f"  {answer.splitlines()[0]}",
    ])
