"""Operator tools over the gateway's HTTP API: an MCP server, plain-language commands, a LangGraph workflow.

Everything here talks to a gateway (deployed or `make demo`'s) through `llm_ops.client`; none of it
ships in the cost-tracker zip or the gateway image. `mcp` and `langgraph` are the `[ops]` and
`[workflow]` extras, imported only by the modules that need them.
"""
