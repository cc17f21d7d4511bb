"""The MCP server over streamable HTTP: bearer token required, then the same tools."""

from __future__ import annotations

import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from llm_ops.mcp_server import CLIENT_TOOLS, build_http_server
from standins import asgi_server
from standins.serving import bind_loopback

MCP_TOKEN = "mcp-http-token-for-tests-0001"


def test_streamable_http_needs_the_bearer_token(client_only):
    probe = bind_loopback()
    port = probe.getsockname()[1]
    probe.close()
    server = build_http_server(client_only, MCP_TOKEN, "127.0.0.1", port)
    with asgi_server(server.streamable_http_app(), port=port) as url:
        refused = httpx2.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                              headers={"Authorization": "Bearer wrong-token"}, timeout=10)
        anonymous = httpx2.post(f"{url}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                                timeout=10)

        async def listed() -> set[str]:
            async with create_mcp_http_client(headers={"Authorization": f"Bearer {MCP_TOKEN}"}) as http, \
                    Client(streamable_http_client(f"{url}/mcp", http_client=http)) as mcp:
                return {t.name for t in (await mcp.list_tools()).tools}

        names = anyio.run(listed)
    assert refused.status_code == anonymous.status_code == 401
    assert MCP_TOKEN not in refused.text
    assert names == set(CLIENT_TOOLS)
