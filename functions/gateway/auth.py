"""Bearer-token checks in constant time, and the two roles (docs/adr/0007-gateway-token-roles.md).

Client tokens chat (they spend budget) and each belongs to a named client key (gateway/client_keys.py);
the admin token, held by the cost tracker, reads usage and metrics and cannot chat, so a leaked
tracker secret buys nothing.
"""

from __future__ import annotations

import hmac

from .client_keys import ClientKey
from .openai_errors import GatewayError

CLIENT = "client"
ADMIN = "admin"

_CLIENT_REQUIRED = "chat needs a client token; the admin token only reads usage and metrics"


class Authenticator:
    """Maps an Authorization header to a role (and a client token to its key) without revealing
    which byte differed or which token matched."""

    def __init__(self, client_keys: tuple[ClientKey, ...], admin_token: str) -> None:
        self._keys = client_keys
        # (1-based index, token): tokens are unique (config), so at most one index adds up below
        self._tokens = tuple(enumerate((k.token.encode() for k in client_keys), 1))
        self._admin = admin_token.encode()

    def _match(self, authorization: bytes | None) -> int:
        """0 for the admin token, the 1-based index of the client key otherwise; raises 401."""
        if not authorization or not authorization[:7].lower() == b"bearer ":
            raise GatewayError(401, "missing bearer token: send 'Authorization: Bearer <token>'",
                               type_="invalid_request_error", code="missing_api_key")
        presented = authorization[7:].strip()
        is_admin = hmac.compare_digest(presented, self._admin)
        index = 0
        for position, token in self._tokens:  # no early exit, no branch: every token is compared
            index += position * hmac.compare_digest(presented, token)
        if is_admin:
            return 0
        if index:
            return index
        raise GatewayError(401, "invalid bearer token", type_="invalid_request_error", code="invalid_api_key")

    def role(self, authorization: bytes | None) -> str:
        """'client' or 'admin'; raises 401 for a missing or unknown token."""
        return CLIENT if self._match(authorization) else ADMIN

    def client_key(self, authorization: bytes | None) -> ClientKey:
        """The key of a chat request's client token; 401 unknown, 403 for the admin token."""
        index = self._match(authorization)
        if not index:
            raise GatewayError(403, _CLIENT_REQUIRED, type_="permission_error", code="client_token_required")
        return self._keys[index - 1]

    def require_client(self, authorization: bytes | None) -> None:
        """Chat spends budget: client tokens only."""
        self.client_key(authorization)

    def require_admin(self, authorization: bytes | None) -> None:
        if self.role(authorization) != ADMIN:
            raise GatewayError(403, "this endpoint needs the admin token", type_="permission_error",
                               code="admin_token_required")
