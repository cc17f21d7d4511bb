"""Bearer-token checks in constant time, and the two roles (docs/adr/0007-gateway-token-roles.md).

Client tokens chat (they spend budget); the admin token, held by the cost tracker, reads usage and
metrics and cannot chat, so a leaked tracker secret buys nothing.
"""

from __future__ import annotations

import hmac

from .openai_errors import GatewayError

CLIENT = "client"
ADMIN = "admin"


class Authenticator:
    """Maps an Authorization header to a role without revealing which byte differed."""

    def __init__(self, client_tokens: tuple[str, ...], admin_token: str) -> None:
        self._clients = tuple(t.encode() for t in client_tokens)
        self._admin = admin_token.encode()

    def role(self, authorization: bytes | None) -> str:
        """'client' or 'admin'; raises 401 for a missing or unknown token."""
        if not authorization or not authorization[:7].lower() == b"bearer ":
            raise GatewayError(401, "missing bearer token: send 'Authorization: Bearer <token>'",
                               type_="invalid_request_error", code="missing_api_key")
        presented = authorization[7:].strip()
        is_admin = hmac.compare_digest(presented, self._admin)
        is_client = False
        for token in self._clients:  # no early exit: every token is compared
            is_client |= hmac.compare_digest(presented, token)
        if is_admin:
            return ADMIN
        if is_client:
            return CLIENT
        raise GatewayError(401, "invalid bearer token", type_="invalid_request_error", code="invalid_api_key")

    def require_client(self, authorization: bytes | None) -> None:
        """Chat spends budget: client tokens only."""
        if self.role(authorization) != CLIENT:
            raise GatewayError(403, "chat needs a client token; the admin token only reads usage and metrics",
                               type_="permission_error", code="client_token_required")

    def require_admin(self, authorization: bytes | None) -> None:
        if self.role(authorization) != ADMIN:
            raise GatewayError(403, "this endpoint needs the admin token", type_="permission_error",
                               code="admin_token_required")
