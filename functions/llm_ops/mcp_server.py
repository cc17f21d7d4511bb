"""MCP server over the gateway: `python -m llm_ops.mcp_server` (stdio) or `--http` (streamable HTTP).

Desktop assistants (Claude Desktop, Cursor) start it over stdio; `--http` serves streamable HTTP on
127.0.0.1 and requires a bearer token (MCP_HTTP_TOKEN_FILE). The gateway is reached with the
client token (GATEWAY_TOKEN_FILE); the admin-only tools (usage, budget, optimization) are
registered only when GATEWAY_ADMIN_TOKEN_FILE is set, so a client-only setup does not offer them.
Anticipated failures (unknown model, budget exceeded, gateway down, bad token) become the SDK's
ToolError with the gateway's message, which never carries a token.
"""

from __future__ import annotations

import argparse
import hmac
import os
import sys
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import anyio
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import AnyHttpUrl, Field

from . import operations as ops
from .client import GatewayCallError, GatewayClient
from .env_names import (
    GATEWAY_ADMIN_TOKEN,
    GATEWAY_ADMIN_TOKEN_FILE,
    GATEWAY_TOKEN,
    GATEWAY_TOKEN_FILE,
    GATEWAY_URL,
    MCP_HTTP_TOKEN_FILE,
)
from .settings import OpsConfigError, OpsSettings, read_token_file

SERVER_NAME = "llm-cost-governance"
ADMIN_TOOLS = ("get_usage_stats", "optimize_costs", "budget_status")
CLIENT_TOOLS = ("invoke_serverless", "estimate_cost", "explain_route")
_READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                             open_world_hint=False)
# A completion is billed and recorded: not read-only, not idempotent, reaches an outside model.
_SPENDS = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False,
                          open_world_hint=True)
T = TypeVar("T")

Prompt = Annotated[str, Field(min_length=1, description="The user prompt, as plain text")]
Model = Annotated[str | None, Field(description="A catalog model id; omit to let the gateway route")]
MaxTokens = Annotated[int, Field(ge=1, le=32768, description="Completion cap in tokens")]


async def _call(fn: Callable[[], T]) -> T:
    """Run a blocking gateway call off the event loop; gateway refusals become tool errors."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except GatewayCallError as exc:
        raise ToolError(str(exc)) from None


class _StaticTokenVerifier:
    """Streamable HTTP auth: one bearer token from a file, compared in constant time."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def verify_token(self, token: str) -> AccessToken | None:
        if hmac.compare_digest(token.encode(), self._token):
            return AccessToken(token="***", client_id="operator", scopes=[])  # noqa: S106 (not a secret)
        return None


GpuHourlyUsd = Annotated[str | None, Field(
    pattern=r"^\d+(\.\d+)?$",
    description="The GPU host's hourly USD price, to weigh stopping it")]


def build_server(client: GatewayClient, *, auth: AuthSettings | None = None,
                 token_verifier: _StaticTokenVerifier | None = None) -> MCPServer:
    """The server with its tools bound to one gateway client (admin tools only if it has the token)."""
    server = MCPServer(SERVER_NAME, instructions=(
        "Tools over an LLM gateway with cost governance: run a prompt through it, estimate and "
        "explain its routing and cost, and (with the admin token) report usage, budget and savings."),
        auth=auth, token_verifier=token_verifier)

    @server.tool(annotations=_SPENDS)
    async def invoke_serverless(prompt: Prompt, model: Model = None, cost_priority: ops.Priority = "balanced",
                                max_tokens: MaxTokens = 1000) -> ops.InvokeResult:
        """Send a prompt through the gateway (routed by complexity and cost priority) and return the
        completion with its backend, model, tokens, exact cost, latency and request id."""
        return await _call(lambda: ops.invoke(client, prompt, model=model, cost_priority=cost_priority,
                                              max_tokens=max_tokens))

    @server.tool(annotations=_READ_ONLY)
    async def estimate_cost(prompt: Prompt, model: Model = None,
                            max_tokens: MaxTokens | None = None) -> ops.EstimateResult:
        """Token counts and exact cost bounds for a prompt at the catalog's prices; calls no model."""
        return await _call(lambda: ops.estimate(client, prompt, model=model, max_tokens=max_tokens))

    @server.tool(annotations=_READ_ONLY)
    async def explain_route(prompt: Prompt, cost_priority: ops.Priority | None = None) -> ops.RouteResult:
        """The routing decision the gateway would make for a prompt (complexity, tier, backend, model,
        worst-case cost, reason) without calling any model."""
        return await _call(lambda: ops.explain(client, prompt, cost_priority=cost_priority))

    if client.has_admin:
        @server.tool(annotations=_READ_ONLY)
        async def get_usage_stats(period: ops.PeriodName = "day") -> ops.UsageStatsResult:
            """Usage of this calendar day or month from the gateway's ledger, per model and backend
            (requests, tokens, cost, average and p95 latency, unique users), plus the budget status."""
            return await _call(lambda: ops.usage_stats(client, period))

        @server.tool(annotations=_READ_ONLY)
        async def budget_status() -> ops.BudgetResult:
            """Today's and this month's settled and reserved spend against the budgets (ok, warning or
            exceeded), as the gateway's budget guard holds them."""
            return await _call(lambda: ops.budget_status(client))

        @server.tool(annotations=_READ_ONLY)
        async def optimize_costs(workload_description: str | None = None,
                                 gpu_hourly_usd: GpuHourlyUsd = None) -> ops.OptimizeResult:
            """Savings this month's ledger shows, in dollars: low-complexity requests on the small model,
            and (given the GPU's hourly price) sending the GPU host's traffic serverless."""
            return await _call(lambda: ops.optimize(client, workload_description,
                                                    gpu_hourly_usd=gpu_hourly_usd))

    return server


def build_http_server(client: GatewayClient, token: str, host: str, port: int) -> MCPServer:
    """The same tools behind bearer-token auth, for streamable HTTP."""
    url = f"http://{host}:{port}"
    # One static token, issued for nothing else: there is no audience to validate.
    auth = AuthSettings(issuer_url=AnyHttpUrl(url), resource_server_url=AnyHttpUrl(f"{url}/mcp"),
                        validate_token_resource=False)
    return build_server(client, auth=auth, token_verifier=_StaticTokenVerifier(token))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="llm-ops-mcp", description=__doc__.split("\n")[0],
        epilog=f"environment: {GATEWAY_URL}, {GATEWAY_TOKEN_FILE} (or {GATEWAY_TOKEN}), optional "
               f"{GATEWAY_ADMIN_TOKEN_FILE} (or {GATEWAY_ADMIN_TOKEN}: registers the admin tools), "
               f"{MCP_HTTP_TOKEN_FILE} with --http")
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="HTTP port (default 8765)")
    args = parser.parse_args(argv)
    try:
        settings = OpsSettings.from_env()
        http_token = None
        if args.http:
            path = os.environ.get(MCP_HTTP_TOKEN_FILE, "").strip()
            if not path:
                raise OpsConfigError(f"{MCP_HTTP_TOKEN_FILE} is required with --http: MCP clients must send "
                                     "this bearer token")
            http_token = read_token_file(path, MCP_HTTP_TOKEN_FILE)
    except OpsConfigError as exc:
        print(f"llm_ops.mcp_server: {exc}", file=sys.stderr)
        return 2
    client = GatewayClient.from_settings(settings)
    if http_token is None:
        build_server(client).run("stdio")
    else:
        build_http_server(client, http_token, args.host, args.port).run("streamable-http", host=args.host,
                                                                         port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
