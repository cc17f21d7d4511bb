"""Environment variable names of the operator tools (MCP server, chat command, workflow)."""

GATEWAY_URL = "GATEWAY_URL"                            # e.g. http://127.0.0.1:8080 (a trailing /v1 is fine)
GATEWAY_TOKEN_FILE = "GATEWAY_TOKEN_FILE"              # file holding a client token
GATEWAY_TOKEN = "GATEWAY_TOKEN"                        # or the client token itself
GATEWAY_ADMIN_TOKEN_FILE = "GATEWAY_ADMIN_TOKEN_FILE"  # optional: file holding the admin token
GATEWAY_ADMIN_TOKEN = "GATEWAY_ADMIN_TOKEN"            # or the admin token itself
MCP_HTTP_TOKEN_FILE = "MCP_HTTP_TOKEN_FILE"            # bearer token MCP clients send over streamable HTTP
